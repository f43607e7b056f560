"""When a tier is reviewed, and what the review decides: notice, requalify or downgrade."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from loyalty.domain.policy import TierLadder, TierLevel
from loyalty.domain.tiers import decide, downgrade_target, next_review, review_after

LADDER = TierLadder(
    metric="spend_365d",
    levels=(TierLevel("member", Decimal("0")), TierLevel("silver", Decimal("5000")),
            TierLevel("gold", Decimal("20000")), TierLevel("platinum", Decimal("50000"))),
    requalification="anniversary", grace_days=30, downgrade="one_step", notice_days=30,
)
REVIEW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)


def test_the_anniversary_review_is_one_year_after_reaching_the_tier() -> None:
    reached = datetime(2025, 11, 20, 14, 3, tzinfo=timezone(timedelta(hours=8)))
    assert next_review(LADDER, reached) == reached + timedelta(days=365)


def test_a_tier_reached_on_29_february_is_reviewed_on_28_february() -> None:
    assert next_review(LADDER, datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2029, 2, 28,
                                                                             tzinfo=UTC)


def test_the_calendar_year_review_is_new_year_in_utc() -> None:
    ladder = replace(LADDER, requalification="calendar_year")
    assert next_review(ladder, datetime(2026, 3, 5, tzinfo=UTC)) == datetime(2027, 1, 1,
                                                                            tzinfo=UTC)
    late = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))  # 2027 in UTC
    assert next_review(ladder, late) == datetime(2028, 1, 1, tzinfo=UTC)


def test_the_lowest_tier_and_no_ladder_have_no_review() -> None:
    assert next_review(LADDER, REVIEW, "member") is None
    assert next_review(None, REVIEW) is None
    assert next_review(LADDER, REVIEW, "gold") == REVIEW.replace(year=2027)


def test_a_member_below_the_threshold_is_warned_notice_days_before_the_downgrade() -> None:
    low = Decimal("1200")
    downgrade_at = REVIEW + timedelta(days=30)  # the end of the grace period
    notice_from = downgrade_at - timedelta(days=30)
    assert decide(LADDER, "gold", REVIEW, low, notice_from - timedelta(seconds=1),
                  None).action == "none"
    notice = decide(LADDER, "gold", REVIEW, low, notice_from, None)
    assert (notice.action, notice.target) == ("notice", "silver")
    assert decide(LADDER, "gold", REVIEW, low, notice_from + timedelta(days=1),
                  REVIEW).action == "none"  # once


def test_a_member_above_the_threshold_is_not_warned() -> None:
    assert decide(LADDER, "gold", REVIEW, Decimal("20000"), REVIEW, None).action == "none"


def test_the_downgrade_waits_for_the_end_of_the_grace_period() -> None:
    low = Decimal("1200")
    grace_end = REVIEW + timedelta(days=30)
    assert decide(LADDER, "gold", REVIEW, low, grace_end - timedelta(seconds=1),
                  REVIEW).action == "none"
    down = decide(LADDER, "gold", REVIEW, low, grace_end, REVIEW)
    assert (down.action, down.target) == ("downgrade", "silver")


def test_a_member_who_still_qualifies_is_requalified() -> None:
    assert decide(LADDER, "gold", REVIEW, Decimal("20000"), REVIEW + timedelta(days=30),
                  None).action == "requalify"


def test_one_step_drops_a_single_tier_and_recalculate_drops_to_the_earned_tier() -> None:
    assert downgrade_target(LADDER, "platinum", Decimal("1200")) == "gold"
    recalculate = replace(LADDER, downgrade="recalculate")
    assert downgrade_target(recalculate, "platinum", Decimal("1200")) == "member"
    assert downgrade_target(recalculate, "platinum", Decimal("6000")) == "silver"


def test_the_next_review_skips_reviews_whose_grace_period_is_already_over() -> None:
    assert review_after(LADDER, REVIEW, REVIEW + timedelta(days=30)) == REVIEW.replace(year=2027)
    far = REVIEW.replace(year=2028) + timedelta(days=31)
    assert review_after(LADDER, REVIEW, far) == REVIEW.replace(year=2029)
