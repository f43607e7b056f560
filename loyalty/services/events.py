"""Non-purchase facts (service visits, complaints, referrals...) that rules react to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.domain.commands import RecordEvent
from loyalty.domain.decisions import RuleBook
from loyalty.domain.model import Occurrence
from loyalty.observability import metrics
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.decide import Outcome, process
from loyalty.services.idempotent import run_idempotent
from loyalty.services.occurrences import event_occurrence
from loyalty.services.receipt import active_privilege_names, response_body
from loyalty.services.standing import receipt_standing
from loyalty.services.state import SqlState
from loyalty.store.uow import SqlUnitOfWork


def record_event(ctx: ServiceContext, cmd: RecordEvent, *, dry_run: bool = False) -> Recorded:
    """Record an event exactly once and carry out what the rules decide for it."""

    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def run(uow: SqlUnitOfWork, member: Any) -> tuple[int, dict[str, Any]]:
        now = ctx.clock()
        book = ctx.deciding(uow, now, preview=cmd.occurred_at if dry_run else None)
        _, body = react(ctx, book, uow, member, event_occurrence(cmd),
                        stored_attributes=dict(cmd.attributes), now=now)
        body["type"] = cmd.type
        return 201, body

    recorded = run_idempotent(ctx, scope="event", key=cmd.event_id,
                              fingerprint=cmd.fingerprint, member_id=cmd.member_id, work=run,
                              dry_run=dry_run)
    if not dry_run and not recorded.replayed:
        metrics.event_recorded(recorded.body["points"])
    return recorded


def react(ctx: ServiceContext, book: RuleBook, uow: SqlUnitOfWork, member: Any,
          occurrence: Occurrence, *, origin: str | None = None,
          stored_attributes: dict[str, Any] | None = None,
          now: datetime | None = None,
          standing: bool = True) -> tuple[Outcome, dict[str, Any]]:
    """Decide and record what the rules do for a non-purchase occurrence of a locked member
    (raised by a till, an enrolment or the sweep), processed at `now` (default: the clock);
    returns its outcome and receipt (with the member's points outlook and tier progress
    unless `standing` is False: nobody reads it)."""
    state = SqlState(uow)
    done = process(book, state, state.adopt(member), occurrence, now or ctx.clock(),
                   origin=origin,
                   stored_attributes=stored_attributes)
    changes = done[0]
    privileges = active_privilege_names(uow, member.member_id, occurrence.occurred_at)
    body = response_body(
        "event_id", occurrence.source_id, member.member_id, changes.outcome, changes.account,
        privileges,
        standing=receipt_standing(book, uow, member, done, occurrence.occurred_at)
        if standing else None)
    return changes.outcome, body
