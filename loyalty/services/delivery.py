"""Delivering the notifications outbox to webhook endpoints, at least once.

A delivery process claims due notifications with a lease (several processes at once take
different ones), sends each to every endpoint configured for its kind and channel (an HTTP
POST of a JSON body, signed with the endpoint's secret), and records the outcome: `delivered`
once every endpoint answered 2xx; otherwise a retry after an exponential wait with jitter,
until the retry period from when it was queued is over, then `dead`. A member whose personal
data was erased gets nothing (`cancelled`); a member channel the member has withdrawn consent
to, or has no address for, is `suppressed`. A notification of a merged member goes to the
member it was merged into. The notification id in the body lets receivers drop a duplicate
(a process that dies after sending and before recording sends again once its lease is over).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from loyalty.domain.messages import SYSTEM, consented
from loyalty.services.context import ServiceContext
from loyalty.services.timing import iso
from loyalty.store import notifications as store

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Loyalty-Signature"
ID_HEADER = "Loyalty-Notification-Id"
ERASED = "the member's personal data was erased: not sent"
MAX_ERROR = 500
MAX_MERGES = 10


class SendFailed(Exception):
    """A request that got no answer (refused, cut off, timed out)."""


class Sender(Protocol):
    def post(self, url: str, body: bytes, headers: Mapping[str, str],
             timeout: float) -> int:
        """POST `body` to `url`; the HTTP status of the answer, SendFailed without one."""
        ...


class HttpSender:
    """Sends with httpx: no redirects followed, one connection pool for the process."""

    def __init__(self) -> None:
        import httpx

        self._httpx = httpx
        self._client = httpx.Client(follow_redirects=False)

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        try:
            answer = self._client.post(url, content=body, headers=dict(headers),
                                       timeout=timeout)
        except self._httpx.HTTPError as error:
            raise SendFailed(f"{type(error).__name__}: {error}") from error
        return answer.status_code

    def close(self) -> None:
        self._client.close()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Loyalty-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes) -> bool:
    """Whether a `Loyalty-Signature` header was made with `secret` over `body`."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
        return False
    expected = signature(secret, int(parts["t"]), body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts["v1"])


@dataclass(frozen=True)
class Timing:
    """When to try again, and when to give up."""

    retry: timedelta
    backoff: float
    max_backoff: float
    timeout: float
    lease: timedelta

    @classmethod
    def of(cls, ctx: ServiceContext) -> Timing:
        s = ctx.settings
        return cls(timedelta(hours=s.delivery_retry_hours), s.delivery_backoff_seconds,
                   s.delivery_max_backoff_seconds, s.delivery_timeout_seconds,
                   timedelta(seconds=s.delivery_lease_seconds))

    def wait(self, attempts: int, jitter: float) -> timedelta:
        """The wait after the `attempts`-th failed attempt: doubled each time up to the
        longest, then between half of it and all of it (`jitter` in [0, 1))."""
        full = min(self.max_backoff, self.backoff * 2 ** min(attempts - 1, 40))
        return timedelta(seconds=full * (0.5 + jitter / 2))


@dataclass
class Outcome:
    """What one attempt at one notification came to, to record."""

    status: str
    error: str | None = None
    #: each endpoint tried: its id, whether it took it, the HTTP status, the error
    sent: list[tuple[str, bool, int | None, str | None]] | None = None


def matches(endpoint: Any, kind: str, channel: str) -> bool:
    """Whether an endpoint takes notifications of this kind on this channel (an empty list
    of kinds or channels: all of them)."""
    kinds, channels = endpoint.kinds or [], endpoint.channels or []
    return (not kinds or kind in kinds) and (not channels or channel in channels)


def body_of(row: Any, member: Any, attempt: int) -> bytes:
    """The JSON a receiver gets: the notification, with the address to reach the member on
    its channel."""
    to: dict[str, Any] = {}
    if row.channel in ("sms", "phone"):
        to = {"phone": member.phone}
    elif row.channel == "email":
        to = {"email": member.email}
    elif row.channel == "push":
        to = {"member_id": member.member_id}
    if to and row.channel != SYSTEM:
        to["name"] = member.name
    body = {
        "id": row.notification_id, "kind": row.notification, "channel": row.channel,
        "member_id": member.member_id, "to": to or None, "subject": row.subject,
        "message": row.message, "template": row.template, "payload": row.payload,
        "created_at": iso(row.created_at), "queued_at": iso(row.queued_at),
        "source_id": row.source_id, "rule_id": row.rule_id, "attempt": attempt,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class Deliverer:
    """One delivery process: claims, sends and records, round after round."""

    def __init__(self, ctx: ServiceContext, sender: Sender, *,
                 clock: Callable[[], datetime] | None = None,
                 jitter: Callable[[], float] = random.random) -> None:
        self.ctx = ctx
        self.sender = sender
        self.clock = clock or ctx.clock
        self.jitter = jitter
        self.timing = Timing.of(ctx)

    def run_once(self, batch: int = 50) -> Counter[str]:
        """Deliver what is due now, up to `batch` notifications; counts of what happened."""
        counts: Counter[str] = Counter()
        token = secrets.token_hex(16)
        now = self.clock()
        lease_until = now + self.timing.lease
        with self.ctx.uow() as uow:
            ids = store.claim(uow.connection, now, batch, lease_until, token)
            uow.commit()
        if not ids:
            return counts
        with self.ctx.uow(read_only=True) as uow:
            rows = store.claimed(uow.connection, ids)
            endpoints = store.endpoints(uow.connection)
        for row in rows:
            if row.lease_token != token:
                continue
            if self.clock() >= lease_until - timedelta(seconds=self.timing.timeout * max(
                    1, len(endpoints))):
                self._release(row.id, token)  # the lease would run out while sending
                counts["released"] += 1
                continue
            outcome = self._attempt(row, endpoints)
            counts[self._record(row, token, outcome)] += 1
        return counts

    def _target(self, member_id: str) -> Any:
        """The member to reach: the member a merged one was merged into, if so."""
        with self.ctx.uow(read_only=True) as uow:
            member = store.member(uow.connection, member_id)
            for _ in range(MAX_MERGES):
                if member is None or not getattr(member, "merged_into", None):
                    break
                member = store.member(uow.connection, member.merged_into)
        return member

    def _attempt(self, row: Any, endpoints: Sequence[Any]) -> Outcome:
        member = self._target(row.member_id)
        if member is None or member.erased_at is not None:
            return Outcome("cancelled", ERASED)
        if not consented(row.channel, member.consents):
            return Outcome("suppressed", f"the member has not consented to {row.channel}")
        if (row.channel in ("sms", "phone") and not member.phone) \
                or (row.channel == "email" and not member.email):
            return Outcome("suppressed", f"no address on record for {row.channel}")
        targets = [e for e in endpoints if matches(e, row.notification, row.channel)]
        if not targets:
            return Outcome("failed", f"no webhook endpoint takes {row.notification} on "
                                     f"{row.channel}", [])
        with self.ctx.uow(read_only=True) as uow:
            done = store.delivered_to(uow.connection, row.id)
        body = body_of(row, member, row.attempts + 1)
        sent: list[tuple[str, bool, int | None, str | None]] = []
        for endpoint in targets:
            if endpoint.endpoint_id in done:
                continue
            sent.append((endpoint.endpoint_id, *self._send(endpoint, row, body)))
        failed = [error for _, ok, _, error in sent if not ok]
        return Outcome("failed" if failed else "delivered", "; ".join(
            f"{e}" for e in failed)[:MAX_ERROR] or None, sent)

    def _send(self, endpoint: Any, row: Any, body: bytes) -> tuple[bool, int | None,
                                                                    str | None]:
        timestamp = int(self.clock().timestamp())
        headers = {"Content-Type": "application/json", "User-Agent": "loyalty-webhooks/1",
                   ID_HEADER: row.notification_id,
                   SIGNATURE_HEADER: signature(endpoint.secret, timestamp, body)}
        try:
            status = self.sender.post(endpoint.url, body, headers, self.timing.timeout)
        except SendFailed as error:
            log.info("notification %s to %s: no answer (%s)", row.notification_id,
                     endpoint.endpoint_id, error)
            return False, None, f"{endpoint.endpoint_id}: no answer ({error})"[:MAX_ERROR]
        if 200 <= status < 300:
            return True, status, None
        return False, status, f"{endpoint.endpoint_id}: answered {status}"

    def _record(self, row: Any, token: str, outcome: Outcome) -> str:
        now = self.clock()
        values: dict[str, Any] = {"last_error": outcome.error}
        status = outcome.status
        if status == "delivered":
            values.update(status="delivered", delivered_at=now, next_attempt_at=None,
                          attempts=row.attempts + 1)
        elif status == "failed":
            attempts = row.attempts + 1
            deadline = row.queued_at + self.timing.retry
            if now >= deadline:
                status = "dead"
                values.update(status="dead", next_attempt_at=None, attempts=attempts)
            else:
                due = min(now + self.timing.wait(attempts, self.jitter()), deadline)
                values.update(next_attempt_at=due, attempts=attempts)
                status = "retry"
        else:
            values.update(status=status, next_attempt_at=None)
        with self.ctx.uow() as uow:
            conn = uow.connection
            for endpoint_id, ok, code, error in outcome.sent or ():
                store.record_attempt(conn, row.id, endpoint_id, ok=ok, status=code,
                                     error=error, at=now)
            if not store.finish(conn, row.id, token, **values):
                return "taken_over"
            uow.commit()
        return status

    def _release(self, notification: int, token: str) -> None:
        with self.ctx.uow() as uow:
            store.finish(uow.connection, notification, token, next_attempt_at=self.clock())
            uow.commit()


def deliver(ctx: ServiceContext, sender: Sender, *, batch: int = 50,
            clock: Callable[[], datetime] | None = None) -> Counter[str]:
    """Deliver everything due now, round after round, until nothing due is left."""
    deliverer = Deliverer(ctx, sender, clock=clock)
    total: Counter[str] = Counter()
    while True:
        counts = deliverer.run_once(batch)
        total.update(counts)
        if not counts or set(counts) <= {"retry", "released", "taken_over"}:
            return total
