"""Birthdays and membership anniversaries: an event on the day, once a year per member.

The days covered are those after the previous sweep of this shard up to `as_of`'s date (just
that date on a first run, at most a year), so a skipped day is caught up, never repeated.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select

from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

m = t.members.c


def occurrence_in(day_of: date, first: date, last: date) -> date | None:
    """The anniversary of `day_of` that falls in [first, last], if any (29 Feb -> 28 Feb)."""
    for year in range(first.year, last.year + 1):
        try:
            candidate = day_of.replace(year=year)
        except ValueError:
            candidate = date(year, 2, 28)
        if first <= candidate <= last and candidate > day_of:
            return candidate
    return None


class CalendarPhase:
    """Raise `birthday` and `anniversary` events for the days this sweep covers."""

    name = "calendar"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def window(self, sweep: Sweep) -> tuple[date, date]:
        last = sweep.as_of.date()
        if sweep.previous_as_of is None:
            return last, last
        first = max(sweep.previous_as_of.date() + timedelta(days=1), last - timedelta(days=365))
        return first, last

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        first, last = self.window(sweep)
        counts: Counter[str] = Counter()
        if first > last:
            return counts
        rows = uow.connection.execute(
            select(m.member_id, m.birth_date, m.enrolled_at)
            .where(batch.members(), or_(m.birth_date.is_not(None),
                                        m.enrolled_at < datetime.combine(first, time.min, UTC)))
            .order_by(m.member_id)
        ).all()
        for row in rows:
            if row.birth_date is not None:
                day = occurrence_in(row.birth_date, first, last)
                if day is not None and sweep.emit(
                    uow, row.member_id, "birthday", str(day.year),
                    {"age": day.year - row.birth_date.year, "date": day.isoformat()},
                ):
                    counts["birthdays"] += 1
            enrolled = row.enrolled_at.date()
            day = occurrence_in(enrolled, first, last)
            if day is not None and sweep.emit(
                uow, row.member_id, "anniversary", str(day.year),
                {"years": day.year - enrolled.year, "date": day.isoformat()},
            ):
                counts["anniversaries"] += 1
        return counts
