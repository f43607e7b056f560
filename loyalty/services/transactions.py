"""Purchases and returns from the till: recorded once, answered with what to print."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.commands import RecordTransaction
from loyalty.domain.decisions import RuleBook
from loyalty.observability import metrics
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.decide import Changes, process
from loyalty.services.idempotent import run_idempotent
from loyalty.services.occurrences import purchase_occurrence, return_occurrence
from loyalty.services.receipt import active_privilege_names, response_body
from loyalty.services.standing import receipt_standing
from loyalty.services.state import SqlState
from loyalty.store.uow import SqlUnitOfWork


def record_transaction(ctx: ServiceContext, cmd: RecordTransaction, *,
                       dry_run: bool = False) -> Recorded:
    """Record a purchase or a return exactly once; `dry_run` evaluates and records nothing."""
    work = _purchase if cmd.type == "purchase" else _return
    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        now = ctx.clock()
        book = ctx.deciding(uow, now, preview=cmd.occurred_at if dry_run else None)
        return 201, work(book, uow, member, cmd, now)

    recorded = run_idempotent(ctx, scope="transaction", key=cmd.transaction_id,
                              fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run,
                              dry_run=dry_run)
    if not dry_run and not recorded.replayed:
        metrics.transaction_recorded(cmd.type, recorded.body["points"])
    return recorded


def _purchase(book: RuleBook, uow: SqlUnitOfWork, member: Any, cmd: RecordTransaction,
              now: datetime) -> dict[str, Any]:
    state = SqlState(uow)
    done = process(book, state, state.adopt(member), purchase_occurrence(cmd), now)
    body = _receipt(book, uow, cmd, done, member)
    body["vouchers"] = done[0].outcome.vouchers
    return body


def _return(book: RuleBook, uow: SqlUnitOfWork, member: Any, cmd: RecordTransaction,
            now: datetime) -> dict[str, Any]:
    state = SqlState(uow)
    done = process(book, state, state.adopt(member), return_occurrence(cmd), now,
                   original_id=cmd.original_transaction_id or "")
    body = _receipt(book, uow, cmd, done, member, privileges_known=False)
    transaction = done[0].transaction
    assert transaction is not None
    body["returned_value"] = str(-transaction["total"])
    body["rewards_taken_back"] = done[0].outcome.rewards_taken_back
    body["rewards_kept"] = done[0].outcome.rewards_kept
    return body


def _receipt(book: RuleBook, uow: SqlUnitOfWork, cmd: RecordTransaction, done: list[Changes],
             member: Any, *, privileges_known: bool = True) -> dict[str, Any]:
    """What the till prints: the purchase's outcome with its reactions', and the balance
    after all of them."""
    out = done[0].outcome
    privileges = active_privilege_names(uow, cmd.member_id, cmd.occurred_at,
                                        member=member if privileges_known else None,
                                        decisions=out.decisions)
    standing = receipt_standing(book, uow, member, done, cmd.occurred_at)
    return response_body("transaction_id", cmd.transaction_id, cmd.member_id, out,
                         done[-1].account, privileges, clawed_back=out.clawed_back,
                         standing=standing)
