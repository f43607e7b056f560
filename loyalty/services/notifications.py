"""Reading the notifications outbox, replaying dead letters, and the webhook endpoints that
notifications are delivered to."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from loyalty.domain.errors import (
    NotReplayable,
    UnknownMember,
    UnknownNotification,
    UnknownWebhook,
    ValidationFailed,
)
from loyalty.domain.messages import ALL_CHANNELS, STATUSES
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.timing import iso
from loyalty.store import notifications as store
from loyalty.store.uow import run_with_retry

#: What may be replayed: a dead letter, or one cancelled without being sent (recorded before
#: notifications were delivered); never one suppressed for want of consent.
REPLAYABLE = ("dead", "cancelled")
KIND = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_URL = 2000


def view(row: Any, deliveries: list[Any] | None = None) -> dict[str, Any]:
    """A notification as the API shows it."""
    found = {
        "notification_id": row.notification_id, "member_id": row.member_id,
        "notification": row.notification, "channel": row.channel, "status": row.status,
        "template": row.template, "subject": row.subject, "message": row.message,
        "payload": row.payload, "attempts": row.attempts, "created_at": iso(row.created_at),
        "queued_at": iso(row.queued_at), "next_attempt_at": iso(row.next_attempt_at)
        if row.status == "pending" else None, "last_error": row.last_error,
        "delivered_at": iso(row.delivered_at), "source_id": row.source_id,
        "rule_id": row.rule_id, "ruleset_version": row.ruleset_version,
    }
    if deliveries is not None:
        found["deliveries"] = [{
            "endpoint_id": one.endpoint_id, "status": one.status, "attempts": one.attempts,
            "last_status": one.last_status, "last_error": one.last_error,
            "attempted_at": iso(one.attempted_at), "delivered_at": iso(one.delivered_at),
        } for one in deliveries]
    return found


def list_notifications(ctx: ServiceContext, *, status: str | None = None,
                       member_id: str | None = None, kind: str | None = None,
                       cursor: int | None = None, limit: int = 50) -> dict[str, Any]:
    """Notifications newest first, filtered; `next_cursor` continues the list."""
    if status is not None and status not in STATUSES:
        raise ValidationFailed(f"status is one of {', '.join(STATUSES)}",
                               details={"fields": {"status": [f"one of {', '.join(STATUSES)}"]}})
    with ctx.uow(read_only=True) as uow:
        if member_id is not None and uow.members.get(member_id) is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        rows = store.page(uow.connection, status=status, member_id=member_id, kind=kind,
                          cursor=cursor, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"notifications": [view(row) for row in rows],
            "next_cursor": rows[-1].id if more and rows else None}


def get_notification(ctx: ServiceContext, notification_id: str) -> dict[str, Any]:
    """One notification, with its delivery to each endpoint."""
    with ctx.uow(read_only=True) as uow:
        row = store.get(uow.connection, notification_id)
        if row is None:
            raise UnknownNotification(f"no notification {notification_id!r}",
                                      details={"notification_id": notification_id})
        return view(row, list(store.deliveries(uow.connection, row.id)))


def replay(ctx: ServiceContext, notification_id: str, actor: Actor) -> dict[str, Any]:
    """Queue a dead letter again, due now, with a new retry period; the delivery process
    sends it to the endpoints it has not reached yet."""

    def attempt() -> dict[str, Any]:
        with ctx.uow() as uow:
            conn = uow.connection
            row = store.get(conn, notification_id)
            if row is None:
                raise UnknownNotification(f"no notification {notification_id!r}",
                                          details={"notification_id": notification_id})
            member = uow.members.get(row.member_id)
            erased = member is not None and member.erased_at is not None
            if row.status not in REPLAYABLE or erased:
                why = ("the member's personal data was erased" if erased
                       else f"it is {row.status}; only a dead or cancelled one is replayed")
                raise NotReplayable(f"notification {notification_id} cannot be replayed: {why}",
                                    details={"status": row.status})
            now = ctx.clock()
            store.requeue(conn, row.id, now)
            audit.record(uow, actor, "notification.replayed", now, subject=notification_id,
                         details={"was": row.status, "attempts": row.attempts,
                                  "last_error": row.last_error})
            uow.commit()
        return get_notification(ctx, notification_id)

    return run_with_retry(attempt, retries=ctx.settings.max_retries)


def _words(values: list[str] | None, what: str, allowed: tuple[str, ...] | None) -> list[str]:
    found: list[str] = []
    for value in values or []:
        value = value.strip()
        if allowed is not None and value not in allowed:
            raise ValidationFailed(f"unknown {what} {value!r}: one of {', '.join(allowed)}",
                                   details={"fields": {what + "s": [f"unknown {value!r}"]}})
        if allowed is None and not KIND.match(value):
            raise ValidationFailed(f"{what} {value!r} is not a notification name",
                                   details={"fields": {what + "s": [f"not a name: {value!r}"]}})
        if value not in found:
            found.append(value)
    return found


def endpoint_view(row: Any, secret: str | None = None) -> dict[str, Any]:
    found = {"endpoint_id": row["endpoint_id"], "url": row["url"], "kinds": row["kinds"],
             "channels": row["channels"], "description": row["description"],
             "created_at": iso(row["created_at"]), "created_by": row["created_by"]}
    if secret is not None:
        found["secret"] = secret
    return found


def add_webhook(ctx: ServiceContext, url: str, *, kinds: list[str] | None,
                channels: list[str] | None, description: str | None,
                actor: Actor) -> dict[str, Any]:
    """Add an endpoint; the answer holds its signing secret, shown this once."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        raise ValidationFailed("the URL must be http:// or https:// with a host",
                               details={"fields": {"url": ["an http(s) URL with a host"]}})
    values: dict[str, Any] = {"endpoint_id": "wh_" + secrets.token_hex(8), "url": url.strip(),
              "kinds": _words(kinds, "kind", None),
              "channels": _words(channels, "channel", ALL_CHANNELS),
              "secret": "whsec_" + secrets.token_urlsafe(32), "description": description,
              "created_at": ctx.clock(), "created_by": actor.name}

    def attempt() -> dict[str, Any]:
        with ctx.uow() as uow:
            store.add_endpoint(uow.connection, values)
            audit.record(uow, actor, "webhook.added", values["created_at"],
                         subject=values["endpoint_id"],
                         details={"url": values["url"], "kinds": values["kinds"],
                                  "channels": values["channels"]})
            uow.commit()
        return endpoint_view(values, values["secret"])

    return run_with_retry(attempt, retries=ctx.settings.max_retries)


def list_webhooks(ctx: ServiceContext) -> dict[str, Any]:
    """The endpoints notifications are delivered to (never their secrets)."""
    with ctx.uow(read_only=True) as uow:
        rows = store.endpoints(uow.connection)
    return {"webhooks": [endpoint_view(row._mapping) for row in rows]}


def remove_webhook(ctx: ServiceContext, endpoint_id: str, actor: Actor) -> dict[str, Any]:
    """Stop delivering to an endpoint; its past deliveries stay on record."""

    def attempt() -> dict[str, Any]:
        with ctx.uow() as uow:
            now = ctx.clock()
            if not store.remove_endpoint(uow.connection, endpoint_id, now):
                raise UnknownWebhook(f"no webhook {endpoint_id!r}",
                                     details={"endpoint_id": endpoint_id})
            audit.record(uow, actor, "webhook.removed", now, subject=endpoint_id)
            uow.commit()
        return {"endpoint_id": endpoint_id, "removed_at": iso(now)}

    return run_with_retry(attempt, retries=ctx.settings.max_retries)
