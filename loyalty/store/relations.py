"""Relatives and important dates as stored, and what a member's purchases suggest about them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Row,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from loyalty.store import tables as t
from loyalty.store.types import from_units

r = t.member_relatives.c
d = t.important_dates.c
tx = t.transactions.c
ln = t.transaction_lines.c
#: How far back a member's purchases say what they usually spend and buy.
LOOKBACK = timedelta(days=365)
#: How many rows a stream over every member's purchases holds at a time.
STREAM_ROWS = 5_000


class RelationsRepository:
    """A member's relatives and important dates."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def relatives(self, member_id: str) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.member_relatives).where(r.member_id == member_id)
                                 .order_by(r.created_at, r.relative_id)).all()

    def relative(self, member_id: str, relative_id: str) -> Row[Any] | None:
        return self.conn.execute(select(t.member_relatives).where(
            r.member_id == member_id, r.relative_id == relative_id)).first()

    def count_relatives(self, member_id: str) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.member_relatives)
                                     .where(r.member_id == member_id)).scalar_one())

    def add_relative(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.member_relatives).values(**values))

    def remove_relative(self, member_id: str, relative_id: str) -> int:
        """Remove the relative and the dates naming them; how many dates went with them."""
        dates = self.conn.execute(delete(t.important_dates).where(
            d.member_id == member_id, d.relative_id == relative_id)).rowcount
        self.conn.execute(delete(t.member_relatives).where(
            r.member_id == member_id, r.relative_id == relative_id))
        return int(dates)

    def dates(self, member_id: str) -> Sequence[Row[Any]]:
        """The member's dates, each with its relative's relation and name (None for the
        member's own)."""
        return self.conn.execute(
            select(t.important_dates, r.relation, r.name)
            .select_from(t.important_dates.outerjoin(
                t.member_relatives, d.relative_id == r.relative_id))
            .where(d.member_id == member_id).order_by(d.month, d.day, d.date_id)).all()

    def date(self, member_id: str, date_id: str) -> Row[Any] | None:
        return self.conn.execute(select(t.important_dates).where(
            d.member_id == member_id, d.date_id == date_id)).first()

    def birthday_of(self, relative_id: str) -> str | None:
        """The id of the birthday recorded for a relative, if one is."""
        return self.conn.execute(select(d.date_id).where(
            d.relative_id == relative_id, d.kind == "birthday")).scalar()

    def count_dates(self, member_id: str) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.important_dates)
                                     .where(d.member_id == member_id)).scalar_one())

    def add_date(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.important_dates).values(**values))

    def remove_date(self, member_id: str, date_id: str) -> None:
        self.conn.execute(delete(t.important_dates).where(
            d.member_id == member_id, d.date_id == date_id))

    def forget(self, member_id: str) -> tuple[int, int]:
        """Delete every relative and date of the member: (relatives, dates) deleted."""
        dates = self.conn.execute(delete(t.important_dates).where(
            d.member_id == member_id)).rowcount
        relatives = self.conn.execute(delete(t.member_relatives).where(
            r.member_id == member_id)).rowcount
        return int(relatives), int(dates)

    def move(self, from_member: str, to_member: str) -> tuple[int, int]:
        """Give another member the relatives and dates of `from_member` (a merge)."""
        relatives = self.conn.execute(update(t.member_relatives).where(
            r.member_id == from_member).values(member_id=to_member)).rowcount
        dates = self.conn.execute(update(t.important_dates).where(
            d.member_id == from_member).values(member_id=to_member)).rowcount
        return int(relatives), int(dates)

    def any_dates(self) -> bool:
        return self.conn.execute(select(d.date_id).limit(1)).first() is not None

    def dates_of(self, member_ids: Any) -> Sequence[Any]:
        """The dates of the members `member_ids` (a subquery or a list) with their relatives,
        in member order: one query for a batch of members."""
        return self.conn.execute(
            select(d.date_id, d.member_id, d.kind, d.label, d.month, d.day, d.year,
                   r.relation, r.name)
            .select_from(t.important_dates.outerjoin(
                t.member_relatives, d.relative_id == r.relative_id))
            .where(d.member_id.in_(member_ids)).order_by(d.member_id, d.date_id)).all()


def _net_total() -> Any:
    """What a purchase cost net of returns, in stored money units."""
    return type_coerce(tx.total, BigInteger) - type_coerce(tx.returned_total, BigInteger)


def _purchases_since(as_of: datetime) -> list[Any]:
    return [tx.type == "purchase", tx.occurred_at > as_of - LOOKBACK, tx.occurred_at <= as_of,
            _net_total() > 0]


def purchase_totals(conn: Connection, member_ids: Iterable[str],
                    as_of: datetime) -> dict[str, list[Decimal]]:
    """What each member paid per purchase over the year before `as_of`, net of returns (a
    purchase returned in full left out), smallest first."""
    ids = list(member_ids)
    found: dict[str, list[Decimal]] = {member_id: [] for member_id in ids}
    if not ids:
        return found
    rows = conn.execute(select(tx.member_id, _net_total().label("net"))
                        .where(tx.member_id.in_(ids), *_purchases_since(as_of))
                        .order_by(tx.member_id, "net"))
    for row in rows:
        found[row.member_id].append(from_units(row.net))
    return found


def every_member_totals(conn: Connection, as_of: datetime) -> Iterator[list[int]]:
    """For each member who bought over the year before `as_of`, what they paid per purchase
    (net of returns) in stored money units, smallest first; read as a stream, one member at a
    time."""
    rows = conn.execute(
        select(tx.member_id, _net_total().label("net")).where(*_purchases_since(as_of))
        .order_by(tx.member_id, "net").execution_options(yield_per=STREAM_ROWS))
    current: str | None = None
    totals: list[int] = []
    for member_id, net in rows:
        if member_id != current:
            if totals:
                yield totals
            current, totals = member_id, []
        totals.append(int(net))
    if totals:
        yield totals


def top_categories(conn: Connection, member_ids: Iterable[str], as_of: datetime,
                   most: int) -> dict[str, list[str]]:
    """The `most` categories each member spent most on over the year before `as_of` (units
    returned left out), most first; ties by name."""
    ids = list(member_ids)
    found: dict[str, list[str]] = {member_id: [] for member_id in ids}
    if not ids:
        return found
    spent = func.sum((ln.quantity - ln.returned_quantity)
                     * type_coerce(ln.unit_price, BigInteger)).label("spent")
    rows = conn.execute(
        select(tx.member_id, ln.category, spent)
        .select_from(t.transaction_lines.join(t.transactions,
                                              ln.transaction_id == tx.transaction_id))
        .where(tx.member_id.in_(ids), tx.type == "purchase",
               tx.occurred_at > as_of - LOOKBACK, tx.occurred_at <= as_of,
               ln.quantity > ln.returned_quantity)
        .group_by(tx.member_id, ln.category)
        .order_by(tx.member_id, spent.desc(), ln.category))
    for row in rows:
        if len(found[row.member_id]) < most:
            found[row.member_id].append(row.category)
    return found
