"""The phases of a sweep, in the order they run."""

from __future__ import annotations

from loyalty.domain.decisions import RuleBook
from loyalty.services.sweep.base import Phase
from loyalty.services.sweep.calendar import CalendarPhase
from loyalty.services.sweep.important_dates import ImportantDatesPhase
from loyalty.services.sweep.lifecycle import LifecyclePhase
from loyalty.services.sweep.points import PointsPhase
from loyalty.services.sweep.snapshots import SnapshotPhase
from loyalty.services.sweep.tiers import TierPhase
from loyalty.services.sweep.value import ValuePhase
from loyalty.services.sweep.vip import VipPhase


def default_phases(book: RuleBook) -> list[Phase]:
    """Points first (balances right before anything reads them), then tiers, members' value
    (before VIP and lifecycle, so what they raise sees this instant's value), VIP, lifecycle,
    the calendar, and reminders of the dates members recorded; the month's member snapshots
    last, so they record where every other phase left members; `book` is where future phases
    may read their policy."""
    return [PointsPhase(), TierPhase(), ValuePhase(), VipPhase(), LifecyclePhase(),
            CalendarPhase(), ImportantDatesPhase(), SnapshotPhase()]
