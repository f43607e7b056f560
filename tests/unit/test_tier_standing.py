"""What the next tier still needs, from a member's figures: one step per way up."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from loyalty.domain.policy import TierLadder, TierLevel
from loyalty.domain.standing import TierStep, tier_steps

REVIEW = datetime(2027, 11, 20, tzinfo=UTC)
LADDER = TierLadder("nights_365d", (
    TierLevel("member", Decimal(0)),
    TierLevel("silver", Decimal(10)),
    TierLevel("gold", Decimal(30), alternatives=(("stays_365d", Decimal(15)),)),
))


def test_each_way_to_the_next_tier_is_a_step_the_ladders_metric_first() -> None:
    figures = {"nights_365d": Decimal(12), "stays_365d": Decimal(4)}
    assert tier_steps(LADDER, "silver", figures, REVIEW) == [
        TierStep("nights_365d", Decimal(12), "gold", Decimal(18), REVIEW),
        TierStep("stays_365d", Decimal(4), "gold", Decimal(11), REVIEW),
    ]


def test_the_lowest_tier_has_no_review_to_meet() -> None:
    assert tier_steps(LADDER, "member", {"nights_365d": Decimal(3)}, None) == [
        TierStep("nights_365d", Decimal(3), "silver", Decimal(7), None)]


def test_a_figure_beyond_the_threshold_needs_nothing_not_less_than_nothing() -> None:
    [nights, stays] = tier_steps(LADDER, "silver", {"nights_365d": Decimal(31)}, REVIEW)
    assert (nights.needed, stays.now, stays.needed) == (Decimal(0), Decimal(0), Decimal(15))


def test_the_top_tier_has_no_next_tier() -> None:
    assert tier_steps(LADDER, "gold", {"nights_365d": Decimal(40)}, REVIEW) == [
        TierStep("nights_365d", Decimal(40), None, Decimal(0), None)]


def test_a_tier_off_the_ladder_looks_up_to_its_lowest_level() -> None:
    assert tier_steps(LADDER, "staff", {}, None)[0].next_tier == "member"
