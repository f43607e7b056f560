"""Monthly member snapshots, the last step of the sweep: the first sweep of a month (UTC)
records where each member stands, for the value reports' month-by-month figures.

A member of the batch enrolled by the sweep's instant and without a row for that month gets
one: tier, VIP, lifecycle stage, value segment and current value as the earlier phases of this
sweep left them, their spend over the 365 days up to the instant (purchases less returns), and
the stage and segment of their row of the month before (none when they had no row then). A
later sweep of the same month adds rows only for members who joined since; rows are never
changed, so running a sweep again adds nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    func,
    insert,
    literal,
    select,
    tuple_,
    type_coerce,
)

from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.types import UTCDateTime
from loyalty.store.uow import SqlUnitOfWork
from loyalty.store.value_queries import net_spend

m = t.members.c
SPEND_DAYS = 365


def month_of(instant: datetime) -> date:
    """The first day of the instant's month, in UTC."""
    return instant.astimezone(UTC).date().replace(day=1)


def month_before(month: date) -> date:
    """The first day of the month before `month`."""
    return (month - timedelta(days=1)).replace(day=1)


def missing(as_of: datetime, batch: Batch) -> Any:
    """The batch's members, enrolled by `as_of`, without a row for its month: the batch's
    members less the month's rows in the batch's range of member ids. The rows are found by
    their key alone ((month, member id) between two bounds, which only the primary key can
    answer) and taken away as a set, so however few rows the planner expects the month to hold,
    it reads at most a batch of them and compares each once."""
    month = month_of(as_of)
    taken = t.member_snapshots.c
    key = tuple_(taken.month, taken.member_id)
    low = (key > tuple_(month, batch.lo) if batch.lo is not None
           else key >= tuple_(month, ""))
    return (
        select(m.member_id).where(batch.members(), m.enrolled_at <= as_of)
        .except_(select(taken.member_id).where(low, key <= tuple_(month, batch.hi)))
    ).cte("missing")


def snapshot_rows(as_of: datetime, batch: Batch) -> Any:
    """The snapshot rows the batch's members lack for the month of `as_of`."""
    month = month_of(as_of)
    s = t.member_snapshots
    before = s.alias("month_before")
    lacking = missing(as_of, batch)
    spent = net_spend(as_of, SPEND_DAYS, select(lacking.c.member_id))
    source = (
        t.members
        .join(lacking, lacking.c.member_id == m.member_id)
        .outerjoin(spent, spent.c.member_id == m.member_id)
        .outerjoin(before, and_(before.c.member_id == m.member_id,
                                before.c.month == month_before(month)))
    )
    return (
        select(literal(month, s.c.month.type).label("month"), m.member_id, m.tier, m.vip,
               m.lifecycle_stage, m.value_segment, m.current_value,
               type_coerce(func.coalesce(spent.c.units, 0), BigInteger).label("spend_365d"),
               before.c.lifecycle_stage.label("previous_stage"),
               before.c.value_segment.label("previous_segment"),
               literal(as_of, UTCDateTime()).label("taken_at"))
        .select_from(source)
    )


COLUMNS = ("month", "member_id", "tier", "vip", "lifecycle_stage", "value_segment",
           "current_value", "spend_365d", "previous_stage", "previous_segment", "taken_at")


class SnapshotPhase:
    """Record the month's snapshot of each member who has none yet, in one statement a batch."""

    name = "snapshots"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        taken = uow.connection.execute(
            insert(t.member_snapshots)
            .from_select(list(COLUMNS), snapshot_rows(sweep.as_of, batch))
            .returning(t.member_snapshots.c.member_id)).all()
        counts: Counter[str] = Counter()
        if taken:
            counts["taken"] += len(taken)
        return counts
