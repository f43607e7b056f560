"""Lifecycle stages from recency and tenure, set-based; entering a stage raises an event.

new: enrolled less than `new_days` ago; declining, lapsed, churned: no purchase (or, never
having bought, no enrolment) for `declining_days`, `lapsed_days`, `churned_days`; otherwise
active. Rules react to `lifecycle_changed` (attributes `stage` and `previous`), e.g. with a
win-back offer.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select, update

from loyalty.domain.policy import LifecyclePolicy
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

m = t.members.c


def stage_expression(policy: LifecyclePolicy, as_of: Any) -> Any:
    """The stage each member is in as of `as_of`, as a SQL expression."""
    last_seen = func.coalesce(m.last_purchase_at, m.enrolled_at)
    return case(
        (last_seen <= as_of - timedelta(days=policy.churned_days), "churned"),
        (last_seen <= as_of - timedelta(days=policy.lapsed_days), "lapsed"),
        (last_seen <= as_of - timedelta(days=policy.declining_days), "declining"),
        (m.enrolled_at > as_of - timedelta(days=policy.new_days), "new"),
        else_="active",
    )


class LifecyclePhase:
    """Move members between lifecycle stages and let the rules react to each move."""

    name = "lifecycle"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        stage = stage_expression(sweep.book.policy.lifecycle, sweep.as_of)
        changed = uow.connection.execute(
            select(m.member_id, m.lifecycle_stage, stage.label("stage"))
            .where(batch.members(), m.lifecycle_stage != stage, m.enrolled_at <= sweep.as_of)
            .order_by(m.member_id)
        ).all()
        counts: Counter[str] = Counter()
        by_stage: dict[str, list[str]] = {}
        for row in changed:
            by_stage.setdefault(row.stage, []).append(row.member_id)
        for new_stage, ids in by_stage.items():
            uow.connection.execute(update(t.members).where(m.member_id.in_(ids))
                                   .values(lifecycle_stage=new_stage,
                                           lifecycle_since=sweep.as_of))
        for row in changed:
            counts[f"to_{row.stage}"] += 1
            if sweep.emit(uow, row.member_id, "lifecycle_changed", f"{row.stage}:{sweep.key}",
                          {"stage": row.stage, "previous": row.lifecycle_stage}):
                counts["events"] += 1
        return counts
