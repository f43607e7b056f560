"""The audit log: who did what to the programme, when and why. Records are only ever added,
in the same transaction as what they record (a refusal, which changes nothing else, in one of
its own)."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty.domain.errors import ValidationFailed
from loyalty.services.context import ServiceContext
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

#: What marketing may read of the log: everything about the rules.
RULE_ACTIONS = (
    "draft.created", "draft.replaced", "draft.checked", "draft.submitted", "draft.approved",
    "draft.rejected", "draft.withdrawn", "rules.checked", "rules.activated", "rules.scheduled",
    "rules.cancelled", "rules.rolled_back", "rules.refused",
)
OTHER_ACTIONS = ("key.created", "key.revoked", "sweep.run", "points.adjusted",
                 "points.adjustment_refused", "member.erased", "member_token.issued",
                 "member_token.revoked", "member.merged", "webhook.added", "webhook.removed",
                 "notification.replayed", "points.transferred", "points.transfer_refused")
ACTIONS = RULE_ACTIONS + OTHER_ACTIONS
MAX_PAGE = 500


@dataclass(frozen=True)
class Actor:
    """Who acts: an API key's name, an operating-system user at a host (the command line), or
    the service itself."""

    name: str
    kind: str = "key"  # key, cli or system

    def __str__(self) -> str:
        return self.name


def cli_actor() -> Actor:
    """The person at the command line: their operating-system user and host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"{user}@{socket.gethostname()}", "cli")


SYSTEM = Actor("loyalty", "system")


def record(uow: SqlUnitOfWork, actor: Actor, action: str, at: datetime, *,
           subject: str | None = None, reason: str | None = None,
           details: dict[str, Any] | None = None) -> None:
    """Add one record to the log, inside the caller's transaction."""
    assert action in ACTIONS, action
    uow.workflow.add_audit({"at": at, "actor": actor.name, "actor_kind": actor.kind,
                            "action": action, "subject": subject, "reason": reason,
                            "details": details or {}})


def record_alone(ctx: ServiceContext, actor: Actor, action: str, *,
                 subject: str | None = None, reason: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
    """Add one record in a transaction of its own (a refusal: nothing else is written)."""

    def attempt() -> None:
        with ctx.uow() as uow:
            record(uow, actor, action, ctx.clock(), subject=subject, reason=reason,
                   details=details)
            uow.commit()

    run_with_retry(attempt, retries=ctx.settings.max_retries)


def require_reason(reason: str | None, what: str) -> str:
    """A reason is required for activations, rollbacks and adjustments."""
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed.on_fields({"reason": [f"Say why: a reason is required for {what}."]})
    return text


def entry_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, "at": iso(row.at), "actor": row.actor, "actor_kind": row.actor_kind,
            "action": row.action, "subject": row.subject, "reason": row.reason,
            "details": dict(row.details or {})}


def read_log(ctx: ServiceContext, *, actions: Sequence[str] | None = None,
             actor: str | None = None, subject: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             cursor: int | None = None, limit: int = 50) -> dict[str, Any]:
    """A page of the log, newest first; `next_cursor` reads the page after it."""
    limit = max(1, min(limit, MAX_PAGE))
    with ctx.uow(read_only=True) as uow:
        rows = uow.workflow.audit(actions=actions, actor=actor, subject=subject, since=since,
                                  until=until, before_id=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"entries": [entry_view(r) for r in rows],
            "next_cursor": rows[-1].id if more else None}
