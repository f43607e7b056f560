"""Tier requalification in plain Python: when a tier is reviewed, and what a review decides.

A member above the lowest tier is reviewed at the anniversary of reaching the tier
(`requalification: anniversary`) or at the end of that calendar year, i.e. 1 January 00:00 UTC
of the next year (`calendar_year`). The downgrade itself waits `grace_days` after the review;
a notice goes out `notice_days` before the downgrade (the end of the grace period). A member
whose metric still reaches the tier's threshold (or one of the tier's `or:` thresholds) at the
end of the grace period keeps the tier until the next review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from loyalty.domain.policy import TierLadder


def next_review(ladder: TierLadder | None, changed_at: datetime,
                tier: str | None = None) -> datetime | None:
    """The review instant of a tier reached (or last reviewed) at `changed_at`.

    None without a ladder, or when `tier` is given and is the lowest (or not on the ladder).
    """
    if ladder is None or (tier is not None and ladder.rank(tier) <= 0):
        return None
    return _following_review(ladder, changed_at)


def _following_review(ladder: TierLadder, at: datetime) -> datetime:
    if ladder.requalification == "calendar_year":
        return datetime(at.astimezone(UTC).year + 1, 1, 1, tzinfo=UTC)
    try:
        return at.replace(year=at.year + 1)
    except ValueError:  # 29 February: the anniversary falls on 28 February
        return at.replace(year=at.year + 1, day=28)


def review_after(ladder: TierLadder, review: datetime, as_of: datetime) -> datetime:
    """The first review after `review` whose grace period has not yet ended at `as_of`."""
    grace = timedelta(days=ladder.grace_days)
    following = _following_review(ladder, review)
    while following + grace <= as_of:
        following = _following_review(ladder, following)
    return following


def threshold(ladder: TierLadder, tier: str) -> Decimal:
    """The metric value that holds `tier`."""
    return ladder.levels[ladder.rank(tier)].threshold


def downgrade_target(ladder: TierLadder, tier: str,
                     value: Decimal | Mapping[str, Decimal]) -> str:
    """Where a member of `tier` whose metric is `value` (or whose figures by metric name are
    `value`) goes down to: one step, or the tier the figures earn (never above the current
    one)."""
    rank = ladder.rank(tier)
    if ladder.downgrade == "recalculate":
        target = ladder.qualifying_tier(value)
        return target if ladder.rank(target) < rank else ladder.levels[max(rank - 1, 0)].tier
    return ladder.levels[max(rank - 1, 0)].tier


@dataclass(frozen=True)
class Review:
    """What the sweep does for one member: nothing, a notice, requalify or downgrade."""

    action: Literal["none", "notice", "requalify", "downgrade"]
    review_at: datetime
    target: str = ""


def decide(ladder: TierLadder, tier: str, review_at: datetime,
           value: Decimal | Mapping[str, Decimal], as_of: datetime,
           noticed_for: datetime | None) -> Review:
    """Decide a member's review as of `as_of`, given the metric `value` as of `as_of` (or the
    figures of every metric the ladder names: reaching the tier by any one of them holds it)."""
    grace_end = review_at + timedelta(days=ladder.grace_days)
    holds = ladder.reaches(tier, value)
    if as_of >= grace_end:
        if holds:
            return Review("requalify", review_at)
        return Review("downgrade", review_at, downgrade_target(ladder, tier, value))
    notice_from = grace_end - timedelta(days=ladder.notice_days)
    if not holds and notice_from <= as_of and noticed_for != review_at:
        return Review("notice", review_at, downgrade_target(ladder, tier, value))
    return Review("none", review_at)
