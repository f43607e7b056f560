"""The reward catalogue and redeeming points for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.commands import Redeem
from loyalty.domain.errors import InsufficientPoints, OutOfStock, RewardUnavailable, UnknownReward
from loyalty.domain.ledger import Source
from loyalty.domain.policy import RewardDef
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.idempotent import run_idempotent
from loyalty.services.outcome import voucher_code
from loyalty.services.receipt import balance_view, save_account
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork


def _available(reward: RewardDef, as_of: datetime) -> bool:
    day = as_of.date()
    return (reward.valid_from is None or reward.valid_from <= day) and (
        reward.valid_until is None or day <= reward.valid_until
    )


def catalogue(ctx: ServiceContext, as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Every reward of the active rules, with the stock left."""
    book = ctx.rules.current()
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

    book = ctx.rules.current()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        now = ctx.clock()
        at = cmd.occurred_at or now
        reward = book.policy.reward(cmd.reward_id)
        if reward is None:
            raise UnknownReward(f"no reward {cmd.reward_id!r} in the catalogue",
                                details={"reward_id": cmd.reward_id})
        if reward.points_cost is None or not _available(reward, at):
            raise RewardUnavailable(f"reward {cmd.reward_id!r} cannot be redeemed for points now",
                                    details={"reward_id": cmd.reward_id})
        cost = reward.points_cost * cmd.quantity
        account = uow.ledger.account(member)
        source = Source("redemption", cmd.redemption_id, at, rule_id=f"rewards.{reward.reward_id}",
                        ruleset_version=book.version)
        account.settle(at, source)
        if account.available < cost:
            raise InsufficientPoints(
                f"{cost} points needed, {account.available} available",
                details={"required": cost, "available": account.available},
            )
        redeemed = uow.programme.lock_reward_counter(reward.reward_id)
        if reward.stock is not None and redeemed + cmd.quantity > reward.stock:
            raise OutOfStock(f"reward {reward.reward_id!r} is out of stock",
                             details={"reward_id": reward.reward_id,
                                      "stock_remaining": max(0, reward.stock - redeemed)})
        account.spend(cost, f"redeemed {cmd.quantity} x {reward.name}", source)
        code = voucher_code()
        uow.programme.add_redeemed(reward.reward_id, cmd.quantity)
        uow.programme.add_member_rewards([{
            "member_id": cmd.member_id, "reward_id": reward.reward_id, "quantity": cmd.quantity,
            "voucher_code": code, "source_type": "redemption", "source_id": cmd.redemption_id,
            "rule_id": None, "ruleset_version": book.version, "campaign": None,
            "points_spent": cost, "granted_at": at, "valid_until": None,
        }])
        save_account(uow, account, now)
        return 201, {
            "redemption_id": cmd.redemption_id, "member_id": cmd.member_id,
            "reward_id": reward.reward_id, "quantity": cmd.quantity, "points_spent": cost,
            "voucher_code": code, "redeemed_at": iso(at), "balance": balance_view(account),
        }

    return run_idempotent(ctx, scope="redemption", key=cmd.redemption_id,
                          fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run)
