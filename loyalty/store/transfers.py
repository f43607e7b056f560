"""The transfers table: points one member gave another."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from loyalty.store import tables as t

x = t.transfers.c


def add(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(t.transfers).values(**values))


def sent_between(conn: Connection, member_id: str, start: datetime, end: datetime) -> int:
    """How many transfers the member gave from `start` (included) to `end` (excluded)."""
    return int(conn.execute(
        select(func.count()).select_from(t.transfers)
        .where(x.from_member_id == member_id, x.occurred_at >= start, x.occurred_at < end)
    ).scalar_one())


def counterparts(conn: Connection, transfer_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(giver, receiver) of each of these transfers, by transfer id."""
    ids = sorted(set(transfer_ids))
    if not ids:
        return {}
    rows = conn.execute(select(x.transfer_id, x.from_member_id, x.to_member_id)
                        .where(x.transfer_id.in_(ids)))
    return {row.transfer_id: (row.from_member_id, row.to_member_id) for row in rows}
