"""Points one member gives another (a family pooling points): both members locked in member-id
order, ledger entries on both sides moving lots with their own expiry, recorded once by
`transfer_id` and limited by program.yaml `transfers:`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from loyalty.domain.errors import (
    InsufficientPoints,
    TransferRefused,
    UnknownMember,
    ValidationFailed,
)
from loyalty.domain.policy import TransferPolicy
from loyalty.domain.transfers import Transfer
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.decide_transfer import decide_transfer_in, decide_transfer_out, pieces_data
from loyalty.services.idempotent import _replay, refuse_merged
from loyalty.services.receipt import balance_view
from loyalty.services.state import SqlState
from loyalty.services.timing import iso
from loyalty.store import transfers as store
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

SCOPE = "transfer"


def month_of(at: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) holding `at`: its first instant and the next month's."""
    start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + 1, month=1) if start.month == 12 \
        else start.replace(month=start.month + 1)
    return start, following


def check_limits(policy: TransferPolicy, uow: SqlUnitOfWork, member_id: str, points: int,
                 at: datetime) -> None:
    """Refuse what program.yaml `transfers:` does not allow."""
    def refused(limit: str, allowed: Any, message: str) -> TransferRefused:
        return TransferRefused(message, details={"limit": limit, "allowed": allowed,
                                                 "points": points})

    if not policy.allowed:
        raise refused("allowed", False, "this programme does not allow transferring points")
    if points < policy.min_points:
        raise refused("min_points", policy.min_points,
                      f"a transfer moves at least {policy.min_points} points")
    if policy.max_points is not None and points > policy.max_points:
        raise refused("max_points", policy.max_points,
                      f"a transfer moves at most {policy.max_points} points")
    if policy.max_per_month is not None:
        sent = store.sent_between(uow.connection, member_id, *month_of(at))
        if sent >= policy.max_per_month:
            raise refused("max_per_month", policy.max_per_month,
                          f"member {member_id!r} already gave {sent} transfer(s) this month; "
                          f"at most {policy.max_per_month} a month")


def _lock_both(uow: SqlUnitOfWork, cmd: Transfer) -> tuple[Any, Any]:
    """Both members' rows, locked in member-id order; the giver's with what an earlier request
    under the same transfer_id recorded."""
    rows: dict[str, Any] = {}
    for member_id in sorted((cmd.member_id, cmd.to_member_id)):
        rows[member_id] = (uow.members.get_for_write(member_id, SCOPE, cmd.transfer_id)
                           if member_id == cmd.member_id
                           else uow.members.get(member_id, lock=True))
    return rows[cmd.member_id], rows[cmd.to_member_id]


def transfer(ctx: ServiceContext, cmd: Transfer, actor: Actor) -> Recorded:
    """Move available points to another member: all of it happens, or none of it."""
    if cmd.to_member_id == cmd.member_id:
        raise ValidationFailed.on_fields({"to_member_id": [
            "A member cannot transfer points to themselves."]})
    ctx.book()  # before the unit of work: it may read or bootstrap the rules

    def attempt() -> Recorded:
        with ctx.uow() as uow:
            giver, receiver = _lock_both(uow, cmd)
            if giver is None:
                prior = uow.idempotency.get(SCOPE, cmd.transfer_id)
                if prior is not None:
                    _replay(SCOPE, cmd.transfer_id, cmd.fingerprint, cmd.member_id,
                            prior.fingerprint, prior.member_id)
                raise UnknownMember(f"no member {cmd.member_id!r}",
                                    details={"member_id": cmd.member_id})
            if giver.prior_fingerprint is not None:
                _replay(SCOPE, cmd.transfer_id, cmd.fingerprint, cmd.member_id,
                        giver.prior_fingerprint, giver.prior_member_id)
                return Recorded(giver.prior_status, dict(giver.prior_response), replayed=True)
            if receiver is None:
                raise UnknownMember(f"no member {cmd.to_member_id!r} to transfer to",
                                    details={"member_id": cmd.to_member_id})
            refuse_merged(giver)
            refuse_merged(receiver)
            now = ctx.clock()
            book = ctx.deciding(uow, now)
            check_limits(book.policy.transfers, uow, cmd.member_id, cmd.points, now)
            body = _move(uow, cmd, book.version, giver, receiver, actor, now)
            audit.record(uow, actor, "points.transferred", now, subject=cmd.member_id,
                         reason=cmd.reason, details={"transfer_id": cmd.transfer_id,
                                                     "to_member_id": cmd.to_member_id,
                                                     "points": cmd.points})
            uow.idempotency.put(SCOPE, cmd.transfer_id, member_id=cmd.member_id,
                                fingerprint=cmd.fingerprint, status=201, response=body,
                                created_at=now)
            uow.commit()
            return Recorded(201, body)

    try:
        return run_with_retry(attempt, retries=ctx.settings.max_retries)
    except (InsufficientPoints, TransferRefused) as refused:
        audit.record_alone(ctx, actor, "points.transfer_refused", subject=cmd.member_id,
                           reason=cmd.reason,
                           details={"transfer_id": cmd.transfer_id,
                                    "to_member_id": cmd.to_member_id, "points": cmd.points,
                                    "code": refused.code, **refused.details})
        raise


def _move(uow: SqlUnitOfWork, cmd: Transfer, version: str, giver: Any, receiver: Any,
          actor: Actor, now: datetime) -> dict[str, Any]:
    """Decide both sides, record them and the transfer; the answer to give."""
    state = SqlState(uow)
    out, pieces = decide_transfer_out(version, state, state.adopt(giver), cmd.transfer_id,
                                      cmd.points, cmd.to_member_id, cmd.reason, actor.name, now)
    into = decide_transfer_in(version, state, state.adopt(receiver), cmd.transfer_id, pieces,
                              cmd.member_id, cmd.reason, actor.name, now)
    state.record(out, now)
    state.record(into, now)
    store.add(uow.connection, {
        "transfer_id": cmd.transfer_id, "from_member_id": cmd.member_id,
        "to_member_id": cmd.to_member_id, "points": cmd.points, "reason": cmd.reason,
        "actor": actor.name, "lots": pieces_data(pieces), "occurred_at": now,
        "recorded_at": now,
    })
    return {
        "transfer_id": cmd.transfer_id, "member_id": cmd.member_id,
        "to_member_id": cmd.to_member_id, "points": cmd.points, "reason": cmd.reason,
        "actor": actor.name, "transferred_at": iso(now),
        "lots": [{"points": p.points, "expires_at": iso(p.expires_at)} for p in pieces],
        "balance": balance_view(out.account), "to_balance": balance_view(into.account),
    }
