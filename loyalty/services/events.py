"""Non-purchase facts (service visits, complaints, referrals...) that rules react to."""

from __future__ import annotations

from typing import Any

from loyalty.domain.commands import RecordEvent
from loyalty.domain.decisions import RuleBook
from loyalty.domain.ledger import Source
from loyalty.domain.model import Occurrence
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.idempotent import run_idempotent
from loyalty.services.outcome import Applier, Outcome
from loyalty.services.receipt import active_privilege_names, response_body, save_account
from loyalty.store.uow import SqlUnitOfWork


def record_event(ctx: ServiceContext, cmd: RecordEvent, *, dry_run: bool = False) -> Recorded:
    """Record an event exactly once and carry out what the rules decide for it."""

    book = ctx.rules.current()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        occurrence = event_occurrence(cmd)
        out = react(ctx, book, uow, member, occurrence)
        uow.transactions.insert_event({
            "event_id": cmd.event_id, "member_id": cmd.member_id, "type": cmd.type,
            "occurred_at": cmd.occurred_at, "recorded_at": ctx.clock(),
            "attributes": cmd.attributes, "ruleset_version": book.version,
        })
        body = out[1]
        body["type"] = cmd.type
        return 201, body

    return run_idempotent(ctx, scope="event", key=cmd.event_id, fingerprint=cmd.fingerprint,
                          member_id=cmd.member_id, work=run, dry_run=dry_run)


def event_occurrence(cmd: RecordEvent) -> Occurrence:
    return Occurrence(kind=cmd.type, source_id=cmd.event_id, occurred_at=cmd.occurred_at,
                      attributes=dict(cmd.attributes))


def react(ctx: ServiceContext, book: RuleBook, uow: SqlUnitOfWork, member: Any,
          occurrence: Occurrence) -> tuple[Outcome, dict[str, Any]]:
    """Evaluate and apply the rules for a non-purchase occurrence of a locked member."""
    now = ctx.clock()
    stats = uow.transactions.stats(member, occurrence.occurred_at)
    account = uow.ledger.account(member, as_of=occurrence.occurred_at)
    account.settle(occurrence.occurred_at,
                   Source("event", occurrence.source_id, occurrence.occurred_at,
                          ruleset_version=book.version))
    applier = Applier(uow, book, member, account, occurrence, now)
    out = applier.run(stats)
    save_account(uow, account, now, **applier.member_changes)
    privileges = active_privilege_names(uow, member.member_id, occurrence.occurred_at)
    body = response_body("event_id", occurrence.source_id, member.member_id, out, account,
                         privileges)
    return out, body
