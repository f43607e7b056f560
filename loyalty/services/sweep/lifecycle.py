"""Lifecycle stages from recency, frequency, growth and tenure, set-based; entering a stage
raises an event.

- a member who never bought is never declining, lapsed or churned (there is nothing to lose
  yet): new until `declining_days` after enrolment, then dormant until their first purchase;
- churned, lapsed, declining: no purchase for `churned_days`, `lapsed_days`, `declining_days`;
- new: enrolled less than `new_days` ago;
- declining too, from frequency: at least `visits_drop_min_365d` purchases over the last 365
  days, but in the last 90 days fewer than (100 - `visits_drop_percent`)% of what that pace
  predicts (365-day purchases x 90 / 365);
- growing: spend (or visits, `growing_measure`) over the last `growing_days` at least
  `growing_percent`% above the member's own average per `growing_days` over the
  `growing_history_days` before them (over their membership before them when it is shorter, and
  never less than one period); a member who bought nothing before is growing;
- otherwise mature: buying as they usually do.

Rules react to `lifecycle_changed` (attributes `stage` and `previous`), e.g. with a win-back
offer or a thank-you for growing. A purchase brings a declining, lapsed or churned member back
to growing at the till (buying again after a silence); the next sweep then judges them like
everyone else. A first purchase leaves new and dormant to the next sweep, and is never a coming
back.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Numeric,
    and_,
    case,
    cast,
    false,
    func,
    select,
    type_coerce,
    update,
)

from loyalty.domain.policy import LifecyclePolicy
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.epoch import DAY_SECONDS, epoch_seconds, seconds_of
from loyalty.store.uow import SqlUnitOfWork

m = t.members.c
tx = t.transactions.c


def purchases(policy: LifecyclePolicy, as_of: datetime, member_ids: Any) -> Any:
    """Per member, up to `as_of`: purchases over the last 90 and 365 days (`v90`, `v365`), and
    the growth measure over the last `growing_days` (`recent`) and the `growing_history_days`
    before them (`earlier`): spend net of returns in money units, or purchases."""
    recent_from = as_of - timedelta(days=policy.growing_days)
    earlier_from = recent_from - timedelta(days=policy.growing_history_days)
    since = min(as_of - timedelta(days=365), earlier_from)
    net = type_coerce(tx.total, BigInteger) - type_coerce(tx.returned_total, BigInteger)
    spend = policy.growing_measure == "spend"
    recent: Any = func.sum(net) if spend else func.count()
    earlier: Any = func.sum(net) if spend else func.count()
    return select(
        tx.member_id.label("member_id"),
        func.count().filter(tx.occurred_at > as_of - timedelta(days=90)).label("v90"),
        func.count().filter(tx.occurred_at > as_of - timedelta(days=365)).label("v365"),
        recent.filter(tx.occurred_at > recent_from).label("recent"),
        earlier.filter(tx.occurred_at <= recent_from, tx.occurred_at > earlier_from)
        .label("earlier"),
    ).where(tx.member_id.in_(member_ids), tx.type == "purchase", tx.occurred_at <= as_of,
            tx.occurred_at > since).group_by(tx.member_id).subquery()


def falling(policy: LifecyclePolicy, counts: Any) -> Any:
    """A predicate: buying at under (100 - visits_drop_percent)% of the 365-day pace."""
    if policy.visits_drop_percent <= 0:
        return false()
    v90 = func.coalesce(counts.c.v90, 0)
    v365 = func.coalesce(counts.c.v365, 0)
    return and_(v365 >= max(policy.visits_drop_min_365d, 1),
                v90 * 365 * 100 < v365 * 90 * (100 - policy.visits_drop_percent))


def history_days(policy: LifecyclePolicy, as_of: datetime) -> Any:
    """The days the member's usual is averaged over: the `growing_history_days` before the
    last `growing_days`, or their membership before them when shorter, at least one period."""
    days, most = policy.growing_days, policy.growing_history_days
    least = min(days, most)
    member_for = (seconds_of(as_of - timedelta(days=days)) - epoch_seconds(m.enrolled_at)) \
        // DAY_SECONDS
    return case((member_for >= most, most), (member_for <= least, least), else_=member_for)


def growing(policy: LifecyclePolicy, as_of: datetime, counts: Any) -> Any:
    """A predicate: the measure over the last `growing_days` is above zero and at least
    `growing_percent`% above the member's average per `growing_days` before them, i.e.
    recent x history days x 100 >= earlier x growing_days x (100 + growing_percent)."""
    recent = cast(func.coalesce(counts.c.recent, 0), Numeric)
    earlier = cast(func.coalesce(counts.c.earlier, 0), Numeric)
    return and_(recent > 0, recent * history_days(policy, as_of) * 100
                >= earlier * (policy.growing_days * (100 + policy.growing_percent)))


def stage_expression(policy: LifecyclePolicy, as_of: datetime, counts: Any) -> Any:
    """The stage each member is in as of `as_of`, as a SQL expression (`counts`: `purchases`)."""
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
        (growing(policy, as_of, counts), "growing"),
        else_="mature",
    )


class LifecyclePhase:
    """Move members between lifecycle stages and let the rules react to each move."""

    name = "lifecycle"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        policy = sweep.book.policy.lifecycle
        counts = purchases(policy, sweep.as_of, batch.member_ids())
        stage = stage_expression(policy, sweep.as_of, counts)
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
