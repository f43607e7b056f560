"""The reward catalogue and redeeming points for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.commands import Redeem
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.decide import decide_redemption
from loyalty.services.idempotent import run_idempotent
from loyalty.services.receipt import balance_view
from loyalty.services.state import SqlState
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork


def catalogue(ctx: ServiceContext, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every reward of the rules in force (at `as_of`, default now), with the stock left."""
    book = ctx.book(as_of)
    with ctx.uow(read_only=True) as uow:
        redeemed = uow.programme.redeemed_counts()
    return [{
        "reward_id": r.reward_id, "name": r.name, "kind": r.kind, "description": r.description,
        "points_cost": r.points_cost, "stock": r.stock,
        "stock_remaining": None if r.stock is None
        else max(0, r.stock - redeemed.get(r.reward_id, 0)),
        "valid_from": iso(r.valid_from), "valid_until": iso(r.valid_until),
    } for r in book.policy.rewards]


def redeem(ctx: ServiceContext, cmd: Redeem) -> Recorded:
    """Spend points on a catalogue reward: all of it happens, or none of it."""

    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        now = ctx.clock()
        book = ctx.deciding(uow, now)
        at = cmd.occurred_at or now
        state = SqlState(uow)
        changes = decide_redemption(book, state, state.adopt(member), cmd.redemption_id,
                                    cmd.reward_id, cmd.quantity, at, now)
        state.record(changes, now)
        cost = changes.rewards[0]["points_spent"]
        return 201, {
            "redemption_id": cmd.redemption_id, "member_id": cmd.member_id,
            "reward_id": cmd.reward_id, "quantity": cmd.quantity, "points_spent": cost,
            "voucher_code": changes.rewards[0]["voucher_code"], "redeemed_at": iso(at),
            "balance": balance_view(changes.account),
        }

    return run_idempotent(ctx, scope="redemption", key=cmd.redemption_id,
                          fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run)
