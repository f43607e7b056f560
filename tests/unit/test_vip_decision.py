"""Who is VIP: joining takes the full threshold, leaving a fall of more than the margin below
it; tags hold whatever the metric; leaving the eligible tiers ends VIP at once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.domain.policy import VipPolicy
from loyalty.domain.vip import admitting_threshold, is_vip, keeping_threshold

MARGIN = VipPolicy(top_percent=Decimal(5), min_value=Decimal(80000), leave_margin_percent=10)
NO_MARGIN = VipPolicy(top_percent=Decimal(5), min_value=Decimal(80000))


def decide(policy: VipPolicy, value: str, *, rank: str | None = "60000", was_vip: bool,
           eligible: bool = True, tagged: bool = False) -> bool:
    return is_vip(policy, value=Decimal(value), rank_threshold=None if rank is None
                  else Decimal(rank), eligible=eligible, tagged=tagged, was_vip=was_vip)


def test_the_threshold_that_admits_is_the_lower_of_rank_and_value() -> None:
    assert admitting_threshold(MARGIN, Decimal(60000)) == Decimal(60000)
    assert admitting_threshold(MARGIN, Decimal(90000)) == Decimal(80000)
    assert admitting_threshold(MARGIN, None) == Decimal(80000)
    assert admitting_threshold(VipPolicy(), None) is None
    assert keeping_threshold(MARGIN, Decimal(60000)) == Decimal(54000)
    assert keeping_threshold(NO_MARGIN, Decimal(60000)) == Decimal(60000)


@pytest.mark.parametrize(("value", "joins"), [("59999.99", False), ("60000", True)])
def test_joining_takes_the_full_threshold_whatever_the_margin(value: str, joins: bool) -> None:
    assert decide(MARGIN, value, was_vip=False) is joins


@pytest.mark.parametrize(("value", "stays"), [
    ("60000", True), ("54000", True), ("53999.99", False), ("0", False)])
def test_a_vip_stays_until_more_than_the_margin_below_the_threshold(value: str,
                                                                   stays: bool) -> None:
    assert decide(MARGIN, value, was_vip=True) is stays


def test_without_a_margin_a_vip_leaves_as_soon_as_below() -> None:
    assert decide(NO_MARGIN, "59999.99", was_vip=True) is False
    assert decide(NO_MARGIN, "60000", was_vip=True) is True


def test_a_vip_outside_the_eligible_tiers_leaves_at_once_whatever_the_margin() -> None:
    assert decide(MARGIN, "60000", was_vip=True, eligible=False) is False


def test_with_no_threshold_at_all_only_tags_make_a_vip() -> None:
    policy = VipPolicy(leave_margin_percent=10, tags=("vip",))
    assert decide(policy, "99999", rank=None, was_vip=True) is False
    assert decide(policy, "0", rank=None, was_vip=False, eligible=False, tagged=True) is True
