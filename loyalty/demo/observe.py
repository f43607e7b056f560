"""What a demo reads back from the database (never writes): members already there, the offers
members hold, spend by member, and a digest of the ledger that two runs can be compared by."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from loyalty.services.context import ServiceContext
from loyalty.store import tables as t


def member_count(ctx: ServiceContext) -> int:
    with ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(
            select(func.count()).select_from(t.members)).scalar_one())


def open_offers(ctx: ServiceContext, as_of: datetime) -> dict[str, set[str]]:
    """The offer codes each member holds open at `as_of`."""
    o = t.offers.c
    held: dict[str, set[str]] = {}
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(o.member_id, o.offer_code).where(
                o.status == "open", o.valid_until > as_of, o.issued_at <= as_of)).all()
    for member_id, code in rows:
        held.setdefault(member_id, set()).add(code)
    return held


def held_vouchers(ctx: ServiceContext, as_of: datetime,
                  rewards: frozenset[str]) -> dict[str, list[tuple[str, datetime | None]]]:
    """The vouchers (of these rewards) each member holds at `as_of`, oldest first: each one's
    code and the end of its validity (None: none)."""
    r = t.member_rewards.c
    held: dict[str, list[tuple[str, datetime | None]]] = {}
    if not rewards:
        return held
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(r.member_id, r.voucher_code, r.valid_until)
            .where(r.status == "held", r.reward_id.in_(sorted(rewards)), r.granted_at <= as_of)
            .order_by(r.member_id, r.granted_at, r.reward_id, r.id)).all()
    for member_id, code, valid_until in rows:
        if valid_until is None or valid_until > as_of:
            held.setdefault(member_id, []).append((code, valid_until))
    return held


def spend_by_member(ctx: ServiceContext) -> list[Decimal]:
    """Every member's net spend (purchases less returns), largest first; zero for members who
    never bought."""
    m, tx = t.members.c, t.transactions.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(m.member_id, func.coalesce(func.sum(tx.total), 0))
            .select_from(t.members.outerjoin(t.transactions, tx.member_id == m.member_id))
            .group_by(m.member_id)).all()
    return sorted((Decimal(str(total)) for _, total in rows), reverse=True)


def top_share(spends: list[Decimal], percent: int = 20) -> Decimal:
    """The share (0..1) of all spend that the best `percent`% of members bring."""
    total = sum(spends, Decimal(0))
    if total <= 0 or not spends:
        return Decimal(0)
    top = max(1, round(len(spends) * percent / 100))
    return sum(spends[:top], Decimal(0)) / total


def ledger_digest(ctx: ServiceContext) -> tuple[str, int]:
    """SHA-256 of every ledger entry's content (in content order, so neither the order rows
    were written in nor their generated ids matter), and the number of entries."""
    e = t.ledger_entries.c
    columns = (e.member_id, e.kind, e.bucket, e.points, e.source_type, e.source_id, e.rule_id,
               e.ruleset_version, e.campaign, e.reason, e.occurred_at, e.recorded_at)
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(*columns)).all()
    lines = sorted("\x1f".join(_text(value) for value in row) for row in rows)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return digest, len(lines)


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return "" if value is None else str(value)
