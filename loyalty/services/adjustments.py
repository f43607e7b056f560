"""Points a service desk adds or removes by hand, saying why: recorded in the ledger with who
made them, and every adjustment and every refusal in the audit log."""

from __future__ import annotations

from typing import Any

from loyalty.domain.commands import Adjust
from loyalty.domain.errors import InsufficientPoints, ValidationFailed
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.decide import decide_adjustment
from loyalty.services.idempotent import run_idempotent
from loyalty.services.receipt import balance_view
from loyalty.services.state import SqlState
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork


def adjust(ctx: ServiceContext, cmd: Adjust, actor: Actor) -> Recorded:
    """Add or remove points by hand: all of it happens, or none of it."""
    reason = audit.require_reason(cmd.reason, "an adjustment")
    if cmd.points == 0:
        raise ValidationFailed.on_fields({"points": ["Must not be zero."]})
    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        now = ctx.clock()
        book = ctx.deciding(uow, now)
        at = cmd.occurred_at or now
        state = SqlState(uow)
        changes = decide_adjustment(book, state, state.adopt(member), cmd.adjustment_id,
                                    cmd.points, reason, actor.name, at, now)
        state.record(changes, now)
        audit.record(uow, actor, "points.adjusted", now, subject=cmd.member_id, reason=reason,
                     details={"adjustment_id": cmd.adjustment_id, "points": cmd.points,
                              "occurred_at": iso(at)})
        return 201, {
            "adjustment_id": cmd.adjustment_id, "member_id": cmd.member_id,
            "points": cmd.points, "reason": reason, "actor": actor.name,
            "adjusted_at": iso(at), "balance": balance_view(changes.account),
        }

    try:
        return run_idempotent(ctx, scope="adjustment", key=cmd.adjustment_id,
                              fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run)
    except InsufficientPoints as refused:
        audit.record_alone(ctx, actor, "points.adjustment_refused", subject=cmd.member_id,
                           reason=reason,
                           details={"adjustment_id": cmd.adjustment_id, "points": cmd.points,
                                    "code": refused.code, **refused.details})
        raise
