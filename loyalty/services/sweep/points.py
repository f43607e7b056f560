"""Points over time, set-based: pending lots whose return window is over become available,
and lots past their expiry expire, soonest first. The same movements the till makes lazily,
written for a whole batch of members in a handful of statements."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import and_, func, insert, literal, select, union_all, update

from loyalty.domain.ledger import ACTIVATION_RULE, EXPIRY_RULE
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

lots = t.point_lots.c
m = t.members.c

ACTIVATE_REASON = "the return window is over: points can be spent"
EXPIRE_REASON = "points expired"


def _entries(sweep: Sweep, query_lots: Any, kind: str, bucket: Any, sign: int, rule_id: str,
             reason: str, occurred: Any) -> Any:
    """A SELECT producing ledger entry rows, one per lot of `query_lots`."""
    return select(
        lots.member_id, literal(kind), bucket, lots.remaining * sign, lots.lot_id,
        literal("sweep"), literal(f"sweep:{sweep.key}"[:128]), literal(rule_id),
        literal(sweep.book.version), literal(None), literal(reason), occurred,
        literal(sweep.now, t.ledger_entries.c.recorded_at.type),
    ).where(query_lots)


ENTRY_COLUMNS = ["member_id", "kind", "bucket", "points", "lot_id", "source_type", "source_id",
                 "rule_id", "ruleset_version", "campaign", "reason", "occurred_at",
                 "recorded_at"]


class PointsPhase:
    """Activate matured pending points, then expire lots whose expiry has passed."""

    name = "points"

    def prepare(self, sweep: Sweep) -> None:
        return None

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        conn = uow.connection
        counts: Counter[str] = Counter()
        in_batch = lots.member_id.in_(batch.member_ids())
        matured = and_(in_batch, lots.state == "pending", lots.remaining > 0,
                       lots.pending_until <= sweep.as_of)
        moved = select(lots.member_id, func.sum(lots.remaining).label("points")).where(
            matured).group_by(lots.member_id).subquery()
        activated = conn.execute(select(func.count(), func.coalesce(func.sum(lots.remaining), 0))
                                 .where(matured)).one()
        if activated[0]:
            conn.execute(insert(t.ledger_entries).from_select(ENTRY_COLUMNS, union_all(
                _entries(sweep, matured, "activate", literal("pending"), -1, ACTIVATION_RULE,
                         ACTIVATE_REASON, lots.pending_until),
                _entries(sweep, matured, "activate", literal("available"), 1, ACTIVATION_RULE,
                         ACTIVATE_REASON, lots.pending_until),
            )))
            delta = select(moved.c.points).where(moved.c.member_id == m.member_id)
            conn.execute(update(t.members).where(m.member_id.in_(select(moved.c.member_id)))
                         .values(points_pending=m.points_pending - delta.scalar_subquery(),
                                 points_available=m.points_available + delta.scalar_subquery()))
            conn.execute(update(t.point_lots).where(matured).values(state="available"))
            counts["lots_activated"] += int(activated[0])
            counts["points_activated"] += int(activated[1])
        expiring = and_(in_batch, lots.remaining > 0, lots.expires_at <= sweep.as_of)
        expired = conn.execute(select(func.count(), func.coalesce(func.sum(lots.remaining), 0))
                               .where(expiring)).one()
        if expired[0]:
            conn.execute(insert(t.ledger_entries).from_select(ENTRY_COLUMNS, _entries(
                sweep, expiring, "expire", lots.state, -1, EXPIRY_RULE, EXPIRE_REASON,
                lots.expires_at)))
            by_state = select(
                lots.member_id,
                func.sum(lots.remaining).filter(lots.state == "available").label("available"),
                func.sum(lots.remaining).filter(lots.state == "pending").label("pending"),
            ).where(expiring).group_by(lots.member_id).subquery()

            def lost(column: Any) -> Any:
                return func.coalesce(select(column).where(by_state.c.member_id == m.member_id)
                                     .scalar_subquery(), 0)

            conn.execute(update(t.members).where(m.member_id.in_(select(by_state.c.member_id)))
                         .values(points_available=m.points_available - lost(by_state.c.available),
                                 points_pending=m.points_pending - lost(by_state.c.pending)))
            conn.execute(update(t.point_lots).where(expiring).values(remaining=0))
            counts["lots_expired"] += int(expired[0])
            counts["points_expired"] += int(expired[1])
        return counts
