"""The SQL of the notifications outbox: queueing, claiming due notifications for delivery with
a lease, recording each attempt, reading and replaying; and the webhook endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, select, update

from loyalty.store import tables as t

n = t.notifications.c
d = t.notification_deliveries.c
w = t.webhook_endpoints.c
m = t.members.c


def queue(conn: Connection, rows: list[dict[str, Any]], queued_at: datetime) -> None:
    """Write notifications to the outbox; a pending one is due at once."""
    if not rows:
        return
    conn.execute(insert(t.notifications), [{
        **row, "attempts": 0, "queued_at": queued_at,
        "next_attempt_at": queued_at if row["status"] == "pending" else None,
    } for row in rows])


def claim(conn: Connection, now: datetime, limit: int, lease_until: datetime,
          token: str) -> list[int]:
    """Take up to `limit` due notifications for this delivery process until `lease_until`:
    another process skips them (PostgreSQL: rows locked by another claim are skipped, not
    waited for), and takes them over only once the lease has run out."""
    due = (select(n.id).where(n.status == "pending", n.next_attempt_at <= now)
           .order_by(n.next_attempt_at, n.id).limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(conn.execute(due).scalars())
    if ids:
        conn.execute(update(t.notifications).where(n.id.in_(ids))
                     .values(next_attempt_at=lease_until, lease_token=token))
    return ids


def claimed(conn: Connection, ids: Sequence[int]) -> Sequence[Row[Any]]:
    return conn.execute(select(t.notifications).where(n.id.in_(ids)).order_by(n.id)).all()


def member(conn: Connection, member_id: str) -> Row[Any] | None:
    return conn.execute(select(t.members).where(m.member_id == member_id)).first()


def delivered_to(conn: Connection, notification: int) -> set[str]:
    """The endpoints a notification has reached already."""
    return set(conn.execute(select(d.endpoint_id).where(
        d.notification == notification, d.status == "delivered")).scalars())


def record_attempt(conn: Connection, notification: int, endpoint_id: str, *, ok: bool,
                   status: int | None, error: str | None, at: datetime) -> None:
    """One attempt to send a notification to one endpoint."""
    found = conn.execute(select(d.id, d.attempts).where(
        d.notification == notification, d.endpoint_id == endpoint_id)).first()
    values = {"status": "delivered" if ok else "failed", "last_status": status,
              "last_error": error, "attempted_at": at, "delivered_at": at if ok else None}
    if found is None:
        conn.execute(insert(t.notification_deliveries).values(
            notification=notification, endpoint_id=endpoint_id, attempts=1, **values))
    else:
        conn.execute(update(t.notification_deliveries).where(d.id == found.id)
                     .values(attempts=found.attempts + 1, **values))


def finish(conn: Connection, notification: int, token: str, **values: Any) -> bool:
    """Record the outcome of a claimed notification, if this process still holds its lease
    (False: another took it over after the lease ran out, and its outcome stands)."""
    done = conn.execute(update(t.notifications).where(
        n.id == notification, n.lease_token == token, n.status == "pending",
    ).values(lease_token=None, **values))
    return bool(done.rowcount)


def get(conn: Connection, notification_id: str) -> Row[Any] | None:
    return conn.execute(select(t.notifications)
                        .where(n.notification_id == notification_id)).first()


def page(conn: Connection, *, status: str | None, member_id: str | None, kind: str | None,
         cursor: int | None, limit: int) -> Sequence[Row[Any]]:
    """Notifications newest first, filtered; `cursor` continues below that row id."""
    query = select(t.notifications)
    conditions = []
    if status is not None:
        conditions.append(n.status == status)
    if member_id is not None:
        conditions.append(n.member_id == member_id)
    if kind is not None:
        conditions.append(n.notification == kind)
    if cursor is not None:
        conditions.append(n.id < cursor)
    if conditions:
        query = query.where(and_(*conditions))
    return conn.execute(query.order_by(n.id.desc()).limit(limit)).all()


def deliveries(conn: Connection, notification: int) -> Sequence[Row[Any]]:
    return conn.execute(select(t.notification_deliveries)
                        .where(d.notification == notification).order_by(d.id)).all()


def requeue(conn: Connection, notification: int, now: datetime) -> None:
    """Queue a notification again, due now, with a new retry period."""
    conn.execute(update(t.notifications).where(n.id == notification).values(
        status="pending", queued_at=now, next_attempt_at=now, lease_token=None,
        last_error=None, delivered_at=None))


def waiting(conn: Connection) -> int:
    """How many notifications wait to be delivered."""
    return int(conn.execute(select(func.count()).select_from(t.notifications)
                            .where(n.status == "pending")).scalar_one())


# webhook endpoints
def add_endpoint(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(t.webhook_endpoints).values(**values))


def endpoints(conn: Connection, *, include_removed: bool = False) -> Sequence[Row[Any]]:
    query = select(t.webhook_endpoints)
    if not include_removed:
        query = query.where(w.removed_at.is_(None))
    return conn.execute(query.order_by(w.created_at, w.endpoint_id)).all()


def remove_endpoint(conn: Connection, endpoint_id: str, at: datetime) -> bool:
    done = conn.execute(update(t.webhook_endpoints).where(
        w.endpoint_id == endpoint_id, w.removed_at.is_(None)).values(removed_at=at))
    return bool(done.rowcount)
