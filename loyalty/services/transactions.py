"""Purchases and returns from the till: recorded once, answered with what to print."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from loyalty.domain.commands import RecordTransaction
from loyalty.domain.decisions import RuleBook
from loyalty.domain.effects import floor_points
from loyalty.domain.errors import ReturnExceedsPurchase, UnknownTransaction, ValidationFailed
from loyalty.domain.ledger import CLAWBACK_RULE, Source
from loyalty.domain.model import Line, Occurrence
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.idempotent import run_idempotent
from loyalty.services.outcome import Applier, Outcome
from loyalty.services.receipt import (
    active_privilege_names,
    balance_view,
    response_body,
    save_account,
)
from loyalty.services.timing import expiry_for
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

DRIFTING = ("declining", "lapsed", "churned")


def record_transaction(ctx: ServiceContext, cmd: RecordTransaction, *,
                       dry_run: bool = False) -> Recorded:
    """Record a purchase or a return exactly once; `dry_run` evaluates and records nothing."""
    work = _purchase if cmd.type == "purchase" else _return
    book = ctx.rules.current()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        return 201, work(ctx, book, uow, member, cmd)

    return run_idempotent(ctx, scope="transaction", key=cmd.transaction_id,
                          fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run,
                          dry_run=dry_run)


def purchase_occurrence(cmd: RecordTransaction) -> Occurrence:
    """The purchase as the rule engine sees it."""
    lines = tuple(
        Line(line.sku, line.category or "", line.quantity, line.unit_price or Decimal("0"))
        for line in cmd.lines
    )
    return Occurrence(
        kind="purchase", source_id=cmd.transaction_id, occurred_at=cmd.occurred_at,
        total=sum((line.amount for line in lines), start=Decimal("0")), lines=lines,
        store_id=cmd.store_id, channel=cmd.channel, currency=cmd.currency,
        payment_methods=tuple(p.method for p in cmd.payments), offer_codes=cmd.offer_codes,
    )


def _purchase(ctx: ServiceContext, book: RuleBook, uow: SqlUnitOfWork, member: Any,
              cmd: RecordTransaction) -> dict[str, Any]:
    now = ctx.clock()
    occurrence = purchase_occurrence(cmd)
    lines, total = occurrence.lines, occurrence.total
    stats = uow.transactions.stats(member, cmd.occurred_at)
    account = uow.ledger.account(member, as_of=cmd.occurred_at)
    account.settle(cmd.occurred_at, Source("transaction", cmd.transaction_id, cmd.occurred_at,
                                           ruleset_version=book.version))
    applier = Applier(uow, book, member, account, occurrence, now)
    out = applier.run(stats)
    uow.transactions.insert(
        {"transaction_id": cmd.transaction_id, "member_id": cmd.member_id, "type": "purchase",
         "occurred_at": cmd.occurred_at, "recorded_at": now, "store_id": cmd.store_id,
         "channel": cmd.channel, "currency": cmd.currency, "total": total,
         "ruleset_version": book.version, "points_earned": out.earned,
         "points_clawed_back": 0, "returned_total": Decimal("0")},
        [{"transaction_id": cmd.transaction_id, "line_no": i, "sku": line.sku,
          "category": line.category, "quantity": line.quantity, "unit_price": line.unit_price,
          "returned_quantity": 0} for i, line in enumerate(lines)],
    )
    categories = sorted(set(member.categories or ()) | {line.category for line in lines})
    last = member.last_purchase_at
    changes = dict(applier.member_changes)
    if member.lifecycle_stage in DRIFTING:  # a purchase brings a drifting member back
        changes.update(lifecycle_stage="active", lifecycle_since=cmd.occurred_at)
    save_account(
        uow, account, now, lifetime_spend=member.lifetime_spend + total,
        lifetime_visits=member.lifetime_visits + 1, categories=categories,
        last_purchase_at=cmd.occurred_at if last is None or cmd.occurred_at > last else last,
        **changes,
    )
    policy = book.policy.points
    if policy.expiry == "extended_by_activity":
        new_expiry = expiry_for(policy, cmd.occurred_at)
        lots = t.point_lots.c
        uow.connection.execute(
            update(t.point_lots)
            .where(lots.member_id == cmd.member_id, lots.remaining > 0,
                   lots.expires_at < new_expiry)
            .values(expires_at=new_expiry)
        )
    balance = balance_view(account)
    if out.tier_after != out.tier_before:
        balance = _react_at_till(ctx, book, uow, cmd, out, "tier_changed", "tier", {
            "from": out.tier_before, "to": out.tier_after, "direction": "up"})
    if member.lifecycle_stage in DRIFTING:
        balance = _react_at_till(ctx, book, uow, cmd, out, "lifecycle_changed", "lifecycle", {
            "stage": "active", "previous": member.lifecycle_stage})
    privileges = active_privilege_names(uow, cmd.member_id, cmd.occurred_at, member=member,
                                        decisions=out.decisions)
    body = response_body("transaction_id", cmd.transaction_id, cmd.member_id, out, account,
                         privileges)
    body["balance"] = balance
    return body


def _react_at_till(ctx: ServiceContext, book: RuleBook, uow: SqlUnitOfWork,
                   cmd: RecordTransaction, out: Outcome, kind: str, suffix: str,
                   attributes: dict[str, Any]) -> dict[str, int]:
    """Let the rules react to what the purchase changed (an upgrade, a member coming back) in
    the same transaction; their effects join the receipt. Returns the balance after them."""
    from loyalty.services.events import react

    occurrence = Occurrence(kind=kind, source_id=f"{cmd.transaction_id}#{suffix}",
                            occurred_at=cmd.occurred_at, attributes=attributes)
    reaction, body = react(ctx, book, uow, uow.members.get(cmd.member_id), occurrence)
    out.rewards.extend(reaction.rewards)
    out.offers.extend(reaction.offers)
    out.decisions.extend(reaction.decisions)
    balance: dict[str, int] = body["balance"]
    return balance


def _return(ctx: ServiceContext, book: RuleBook, uow: SqlUnitOfWork, member: Any,
            cmd: RecordTransaction) -> dict[str, Any]:
    """Claw back points in proportion to the value returned, never more than was earned."""
    now = ctx.clock()
    original_id = cmd.original_transaction_id or ""
    original = uow.transactions.get(original_id)
    if original is None or original.member_id != cmd.member_id or original.type != "purchase":
        raise UnknownTransaction(
            f"member {cmd.member_id!r} has no purchase {original_id!r} to return against",
            details={"original_transaction_id": original_id},
        )
    if cmd.occurred_at < original.occurred_at:
        raise ValidationFailed.on_fields({"occurred_at": [
            f"A return cannot happen before its purchase ({original.occurred_at.isoformat()})."
        ]})
    sold = uow.transactions.lines(original_id)
    returned_now: dict[int, int] = {}
    wanted: dict[str, int] = defaultdict(int)
    for line in cmd.lines:
        wanted[line.sku] += line.quantity
    value = Decimal("0")
    return_lines: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for sku, quantity in wanted.items():
        matching = [row for row in sold if row.sku == sku]
        left = sum(row.quantity - row.returned_quantity for row in matching)
        if quantity > left:
            bought = sum(row.quantity for row in matching)
            problems[sku] = (f"bought {bought}, already returned {bought - left}, "
                             f"cannot return {quantity} more")
            continue
        for row in matching:
            take = min(quantity, row.quantity - row.returned_quantity)
            if take <= 0:
                continue
            quantity -= take
            returned_now[row.line_no] = row.returned_quantity + take
            value += row.unit_price * take
            return_lines.append({"transaction_id": cmd.transaction_id,
                                 "line_no": len(return_lines), "sku": sku,
                                 "category": row.category, "quantity": take,
                                 "unit_price": row.unit_price, "returned_quantity": 0})
    if problems:
        raise ReturnExceedsPurchase(
            f"return exceeds what purchase {original_id!r} bought",
            details={"lines": problems},
        )
    returned_total = original.returned_total + value
    target = (
        original.points_earned if original.total <= 0
        else min(original.points_earned,
                 floor_points(original.points_earned * returned_total / original.total))
    )
    claw = max(0, target - original.points_clawed_back)
    account = uow.ledger.account(member)
    source = Source("transaction", cmd.transaction_id, cmd.occurred_at,
                    ruleset_version=book.version)
    account.settle(cmd.occurred_at, source)
    share = (value / original.total * 100).quantize(Decimal("0.1")) if original.total else 0
    reason = f"return of {share}% of purchase {original_id}"
    shortfall = account.claw_back(claw, reason, source, original_source_id=original_id,
                                  shortfall=book.policy.points.shortfall)
    uow.transactions.insert(
        {"transaction_id": cmd.transaction_id, "member_id": cmd.member_id, "type": "return",
         "occurred_at": cmd.occurred_at, "recorded_at": now, "store_id": cmd.store_id,
         "channel": cmd.channel, "currency": cmd.currency or original.currency, "total": -value,
         "original_transaction_id": original_id, "ruleset_version": book.version,
         "points_earned": 0, "points_clawed_back": claw, "returned_total": Decimal("0")},
        return_lines,
    )
    uow.transactions.set_returned(original_id, returned_now)
    uow.transactions.update(original_id, returned_total=returned_total,
                            points_clawed_back=original.points_clawed_back + claw)
    save_account(uow, account, now, lifetime_spend=member.lifetime_spend - value)
    out = Outcome(tier_before=member.tier, tier_after=member.tier)
    out.decisions.append({
        "rule_id": CLAWBACK_RULE, "ruleset": "program", "ruleset_version": book.version,
        "effect": "claw_back_points", "points": -claw,
        "reason": reason + (f"; {shortfall} points could not be taken back"
                            f" ({book.policy.points.shortfall})" if shortfall else ""),
    })
    privileges = active_privilege_names(uow, cmd.member_id, cmd.occurred_at)
    body = response_body("transaction_id", cmd.transaction_id, cmd.member_id, out, account,
                         privileges, clawed_back=claw)
    body["returned_value"] = str(value)
    return body
