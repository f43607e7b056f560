"""When a tier is reviewed, and what the review decides: notice, requalify or downgrade."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from loyalty.domain.policy import TierLadder, TierLevel
from loyalty.domain.tiers import Review, decide, downgrade_target, next_review, review_after

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


def test_the_next_review_is_never_the_review_itself() -> None:
    assert review_after(LADDER, REVIEW, REVIEW) == REVIEW.replace(year=2027)
    assert review_after(LADDER, REVIEW, REVIEW - timedelta(days=400)) == REVIEW.replace(year=2027)


def test_a_review_whose_grace_period_ends_exactly_now_is_over() -> None:
    following = REVIEW.replace(year=2027)
    grace_end = following + timedelta(days=30)
    assert review_after(LADDER, REVIEW, grace_end - timedelta(microseconds=1)) == following
    assert review_after(LADDER, REVIEW, grace_end) == REVIEW.replace(year=2028)
    # Before the next review itself, but inside what would be a grace period counted backwards.
    assert review_after(LADDER, REVIEW, following - timedelta(days=1)) == following


def test_calendar_year_reviews_follow_each_other_on_new_year() -> None:
    ladder = replace(LADDER, requalification="calendar_year")
    new_year = datetime(2027, 1, 1, tzinfo=UTC)
    following = datetime(2028, 1, 1, tzinfo=UTC)
    assert review_after(ladder, new_year, new_year + timedelta(days=30)) == following
    assert review_after(ladder, new_year, following + timedelta(days=29)) == following
    assert review_after(ladder, new_year, following + timedelta(days=30)) == datetime(
        2029, 1, 1, tzinfo=UTC)


def test_every_review_decision_names_its_review_instant() -> None:
    grace_end = REVIEW + timedelta(days=30)
    low, high = Decimal("1200"), Decimal("20000")
    assert decide(LADDER, "gold", REVIEW, high, REVIEW, None) == Review("none", REVIEW)
    assert decide(LADDER, "gold", REVIEW, low, REVIEW, None) == Review("notice", REVIEW,
                                                                       "silver")
    assert decide(LADDER, "gold", REVIEW, low, REVIEW, REVIEW) == Review("none", REVIEW)
    assert decide(LADDER, "gold", REVIEW, high, grace_end, None) == Review("requalify", REVIEW)
    assert decide(LADDER, "gold", REVIEW, low, grace_end, REVIEW) == Review("downgrade", REVIEW,
                                                                            "silver")


def test_a_notice_under_recalculation_names_the_tier_the_metric_earns() -> None:
    recalculate = replace(LADDER, downgrade="recalculate")
    assert decide(recalculate, "platinum", REVIEW, Decimal("6000"), REVIEW, None) == Review(
        "notice", REVIEW, "silver")


def test_recalculation_still_drops_one_step_when_the_metric_holds_the_tier() -> None:
    recalculate = replace(LADDER, downgrade="recalculate")
    assert downgrade_target(recalculate, "silver", Decimal("6000")) == "member"
    assert downgrade_target(recalculate, "gold", Decimal("90000")) == "silver"
    assert downgrade_target(recalculate, "member", Decimal("0")) == "member"
    assert downgrade_target(LADDER, "member", Decimal("0")) == "member"
    assert downgrade_target(LADDER, "silver", Decimal("0")) == "member"


def test_the_calendar_year_is_read_in_utc_whatever_the_server_s_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ladder = replace(LADDER, requalification="calendar_year")
    monkeypatch.setenv("TZ", "Pacific/Honolulu")  # still 2026 when UTC is already in 2027
    time.tzset()
    try:
        late = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
        assert next_review(ladder, late) == datetime(2028, 1, 1, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_metric_below_every_threshold_holds_the_lowest_tier() -> None:
    ladder = replace(LADDER, levels=(TierLevel("member", Decimal("100")), *LADDER.levels[1:]))
    assert ladder.qualifying_tier(Decimal("50")) == "member"
    assert LADDER.qualifying_tier(Decimal("-300")) == "member"  # returns can leave it negative
    assert LADDER.qualifying_tier(Decimal("4999.99")) == "member"
    assert LADDER.qualifying_tier(Decimal("5000")) == "silver"
