"""Control groups: a member's group of a rule never changes, about `percent`% of members are
set aside, and the uplift's intervals are the textbook normal approximations."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from loyalty.domain.experiments import (
    CONTROL,
    OFFER,
    Arm,
    bucket,
    group_of,
    in_control,
    rate_difference,
    spend_difference,
    z_value,
)

IDS = [f"M-{i:06d}" for i in range(10_000)]


def arm(spends: list[str]) -> Arm:
    amounts = [Decimal(s) for s in spends]
    return Arm(len(amounts), sum(1 for a in amounts if a > 0), sum(amounts, Decimal(0)),
               sum(float(a) ** 2 for a in amounts))


def test_the_same_member_is_in_the_same_group_of_the_same_rule_every_time() -> None:
    first = [group_of("winback-lapsed", member_id, 10) for member_id in IDS[:2000]]
    again = [group_of("winback-lapsed", member_id, 10) for member_id in IDS[:2000]]
    assert first == again
    assert set(first) == {OFFER, CONTROL}


def test_the_place_of_a_member_is_sha256_of_rule_and_member_modulo_10000() -> None:
    digest = hashlib.sha256(b"winback-lapsed:M-000042").hexdigest()
    assert bucket("winback-lapsed", "M-000042") == int(digest, 16) % 10_000


@pytest.mark.parametrize("percent", [1, 10, 25, 50])
def test_about_percent_of_ten_thousand_members_are_set_aside(percent: int) -> None:
    held = sum(in_control("winback-lapsed", member_id, percent) for member_id in IDS)
    # binomial: within four standard deviations of percent% of 10,000
    spread = 4 * (10_000 * percent / 100 * (1 - percent / 100)) ** 0.5
    assert abs(held - percent * 100) <= spread, held


def test_a_larger_holdout_keeps_everyone_the_smaller_one_set_aside() -> None:
    small = {m for m in IDS if in_control("winback-lapsed", m, 10)}
    large = {m for m in IDS if in_control("winback-lapsed", m, 20)}
    assert small < large


def test_each_rule_draws_its_own_control_group() -> None:
    one = {m for m in IDS if in_control("winback-lapsed", m, 10)}
    other = {m for m in IDS if in_control("winback-declining", m, 10)}
    assert one != other
    assert len(one & other) < len(one) / 4  # independent draws overlap about 10%


def test_the_return_rate_interval_is_the_wald_interval_of_two_proportions() -> None:
    offer, control = arm(["100", "0", "50", "250"]), arm(["0", "0", "100", "0", "20"])
    found = rate_difference(offer, control)
    assert found is not None
    # by hand: p1 = 3/4, p0 = 2/5; se = sqrt(.75 * .25 / 4 + .4 * .6 / 5) = 0.3080179
    assert found.estimate == pytest.approx(0.35)
    assert found.low == pytest.approx(0.35 - 1.959964 * 0.3080179, abs=1e-6)
    assert found.high == pytest.approx(0.35 + 1.959964 * 0.3080179, abs=1e-6)
    assert (round(found.low, 4), round(found.high, 4)) == (-0.2537, 0.9537)


def test_the_spend_interval_uses_welchs_standard_error() -> None:
    offer, control = arm(["100", "0", "50", "250"]), arm(["0", "0", "100", "0", "20"])
    found = spend_difference(offer, control)
    assert found is not None
    # by hand: means 100 and 24; variances 35000 / 3 and 1880 (n - 1);
    # se = sqrt(11666.67 / 4 + 1880 / 5) = 57.38176
    assert found.estimate == pytest.approx(76.0)
    assert found.low == pytest.approx(76 - 1.959964 * 57.38176, abs=1e-3)
    assert found.high == pytest.approx(76 + 1.959964 * 57.38176, abs=1e-3)
    assert (round(found.low, 2), round(found.high, 2)) == (-36.47, 188.47)


def test_without_enough_members_there_is_no_interval() -> None:
    empty, one, two = arm([]), arm(["10"]), arm(["10", "0"])
    assert rate_difference(empty, two) is None
    assert rate_difference(one, two) is not None  # a rate needs one member
    assert spend_difference(one, two) is None  # a variance needs two
    assert spend_difference(two, two) is not None


def test_ninety_five_percent_is_1_96_standard_errors() -> None:
    assert z_value() == pytest.approx(1.959964, abs=1e-6)
