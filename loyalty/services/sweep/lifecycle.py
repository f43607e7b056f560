"""Lifecycle stages from recency, frequency and tenure, set-based; entering a stage raises an
event.

- a member who never bought is never declining, lapsed or churned (there is nothing to lose
  yet): new until `declining_days` after enrolment, then dormant until their first purchase;
- churned, lapsed, declining: no purchase for `churned_days`, `lapsed_days`, `declining_days`;
- new: enrolled less than `new_days` ago;
- declining too, from frequency: at least `visits_drop_min_365d` purchases over the last 365
  days, but in the last 90 days fewer than (100 - `visits_drop_percent`)% of what that pace
  predicts (365-day purchases x 90 / 365);
- otherwise active.

Rules react to `lifecycle_changed` (attributes `stage` and `previous`), e.g. with a win-back
offer. A purchase brings a declining, lapsed or churned member back to active at the till; a first
purchase leaves new and dormant to the next sweep, and is never a coming back.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, select, update

from loyalty.domain.policy import LifecyclePolicy
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

m = t.members.c
tx = t.transactions.c


def visits(as_of: datetime, member_ids: Any) -> Any:
    """Purchases per member over the 90 and 365 days up to `as_of`."""
    return select(
        tx.member_id.label("member_id"),
        func.count().filter(tx.occurred_at > as_of - timedelta(days=90)).label("v90"),
        func.count().label("v365"),
    ).where(tx.member_id.in_(member_ids), tx.type == "purchase", tx.occurred_at <= as_of,
            tx.occurred_at > as_of - timedelta(days=365)).group_by(tx.member_id).subquery()


def falling(policy: LifecyclePolicy, counts: Any) -> Any:
    """A predicate: buying at under (100 - visits_drop_percent)% of the 365-day pace."""
    if policy.visits_drop_percent <= 0:
        return false()
    v90 = func.coalesce(counts.c.v90, 0)
    v365 = func.coalesce(counts.c.v365, 0)
    return and_(v365 >= max(policy.visits_drop_min_365d, 1),
                v90 * 365 * 100 < v365 * 90 * (100 - policy.visits_drop_percent))


def stage_expression(policy: LifecyclePolicy, as_of: Any, counts: Any) -> Any:
    """The stage each member is in as of `as_of`, as a SQL expression (`counts`: `visits`)."""
    last_seen = m.last_purchase_at
    never_bought = m.last_purchase_at.is_(None)
    return case(
        (and_(never_bought, m.enrolled_at <= as_of - timedelta(days=policy.declining_days)),
         "dormant"),
        (never_bought, "new"),
        (last_seen <= as_of - timedelta(days=policy.churned_days), "churned"),
        (last_seen <= as_of - timedelta(days=policy.lapsed_days), "lapsed"),
        (last_seen <= as_of - timedelta(days=policy.declining_days), "declining"),
        (m.enrolled_at > as_of - timedelta(days=policy.new_days), "new"),
        (falling(policy, counts), "declining"),
        else_="active",
    )


class LifecyclePhase:
    """Move members between lifecycle stages and let the rules react to each move."""

    name = "lifecycle"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        counts = visits(sweep.as_of, batch.member_ids())
        stage = stage_expression(sweep.book.policy.lifecycle, sweep.as_of, counts)
        changed = uow.connection.execute(
            select(m.member_id, m.lifecycle_stage, stage.label("stage"))
            .select_from(t.members.outerjoin(counts, counts.c.member_id == m.member_id))
            .where(batch.members(), m.lifecycle_stage != stage, m.enrolled_at <= sweep.as_of)
            .order_by(m.member_id)
        ).all()
        moved: Counter[str] = Counter()
        by_stage: dict[str, list[str]] = {}
        for row in changed:
            by_stage.setdefault(row.stage, []).append(row.member_id)
        for new_stage, ids in by_stage.items():
            uow.connection.execute(update(t.members).where(m.member_id.in_(ids))
                                   .values(lifecycle_stage=new_stage,
                                           lifecycle_since=sweep.as_of))
        for row in changed:
            moved[f"to_{row.stage}"] += 1
            if sweep.emit(uow, row.member_id, "lifecycle_changed", f"{row.stage}:{sweep.key}",
                          {"stage": row.stage, "previous": row.lifecycle_stage}):
                moved["events"] += 1
        return moved
