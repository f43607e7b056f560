"""The SQL of members' value: each member's purchase history summed up as the value models read
it, the members the models are fitted on, writing the values, and reading back the values a
member had at an instant (for backtests and explain)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    bindparam,
    case,
    func,
    select,
    text,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from loyalty.store import tables as t
from loyalty.store.types import UTCDateTime, to_units

m, tx, ch = t.members.c, t.transactions.c, t.member_changes.c

#: The member's history fields a sweep's valuation records (`member_changes.field`).
VALUE_FIELDS = ("value_segment", "clv", "potential_value")
#: `member_changes.source` and `.actor` of what a sweep's valuation changed.
VALUE_SOURCE = "value"
VALUE_ACTOR = "sweep"
#: Member ids per statement when reading a list of members.
IDS_PER_QUERY = 5000


class utc_day(FunctionElement[Any]):
    """The UTC calendar day of an instant column."""

    type = Date()
    inherit_cache = True


@compiles(utc_day)
def _utc_day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite keeps instants as UTC text (see UTCDateTime)
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


@dataclass(frozen=True)
class Summary:
    """A member's purchases up to an instant: the first and last, how many days they bought
    on, their spend net of returns (all time, and over the recent window) in money units."""

    member_id: str
    first_at: datetime
    last_at: datetime
    days: int
    net_units: int
    recent_units: int


def summary_select(member_ids: Any, as_of: datetime, recent_days: int,
                   id_range: tuple[str | None, str] | None = None) -> Any:
    """A SELECT of the purchase summary of each member in `member_ids` (a subquery or a list;
    within `id_range` (lo, hi] when given) with a purchase up to `as_of`: member_id, first_at,
    last_at, days, net_units, recent_units."""
    purchase = tx.type == "purchase"
    units = type_coerce(tx.total, BigInteger)
    recent = tx.occurred_at > as_of - timedelta(days=recent_days)
    within = []
    if id_range is not None:
        lo, hi = id_range
        within.append(tx.member_id <= hi)
        if lo is not None:
            within.append(tx.member_id > lo)
    return (
        select(
            tx.member_id.label("member_id"),
            type_coerce(func.min(case((purchase, tx.occurred_at))), UTCDateTime())
            .label("first_at"),
            type_coerce(func.max(case((purchase, tx.occurred_at))), UTCDateTime())
            .label("last_at"),
            func.count(case((purchase, utc_day(tx.occurred_at))).distinct()).label("days"),
            type_coerce(func.sum(units), BigInteger).label("net_units"),
            type_coerce(func.sum(case((recent, units), else_=0)), BigInteger)
            .label("recent_units"),
        )
        .where(*within, tx.member_id.in_(member_ids), tx.occurred_at <= as_of)
        .group_by(tx.member_id)
    )


def _summary(row: Any) -> Summary | None:
    if row.first_at is None:  # only returns by then
        return None
    return Summary(row.member_id, row.first_at, row.last_at, int(row.days),
                   int(row.net_units or 0), int(row.recent_units or 0))


def summaries(conn: Connection, member_ids: Sequence[str], as_of: datetime,
              recent_days: int) -> list[Summary]:
    """The purchase summaries of these members (those with a purchase by `as_of`)."""
    found: list[Summary] = []
    for start in range(0, len(member_ids), IDS_PER_QUERY):
        chunk = list(member_ids[start:start + IDS_PER_QUERY])
        for row in conn.execute(summary_select(chunk, as_of, recent_days)):
            summary = _summary(row)
            if summary is not None:
                found.append(summary)
    return found


def sample_ids(conn: Connection, size: int, as_of: datetime) -> list[str]:
    """Up to `size` members who had bought by `as_of`, not merged away, in the order of their
    fixed bucket (a hash of the member id) and id: the same spread-out members every time."""
    bought = select(tx.member_id).where(tx.member_id == m.member_id, tx.type == "purchase",
                                        tx.occurred_at <= as_of).exists()
    return list(conn.execute(
        select(m.member_id).where(m.merged_into.is_(None), bought)
        .order_by(m.bucket, m.member_id).limit(size)).scalars())


def batch_rows(conn: Connection, batch_members: Any, batch_ids: Any,
               id_range: tuple[str | None, str], as_of: datetime,
               recent_days: int) -> list[tuple[Any, Summary | None]]:
    """The batch's members with a value or a purchase by `as_of`: their stored value
    (member_id, current_value, potential_value, clv, value_segment, value_at) and purchase
    summary (None: no purchase by then). `batch_members` is a predicate on members,
    `batch_ids` a subquery of their ids, and `id_range` (lo, hi] the ids the batch spans, so
    that their transactions are read by index, in one range."""
    sums = summary_select(batch_ids, as_of, recent_days, id_range).subquery()
    rows = conn.execute(
        select(m.member_id, m.current_value, m.potential_value, m.clv, m.value_segment,
               m.value_at, *(sums.c[name] for name in (
                   "first_at", "last_at", "days", "net_units", "recent_units")))
        .select_from(t.members.outerjoin(sums, sums.c.member_id == m.member_id))
        .where(batch_members, (sums.c.member_id.is_not(None)) | (m.value_at.is_not(None)))
        .order_by(m.member_id)
    ).all()
    return [(row, None if row.first_at is None else _summary(row)) for row in rows]


#: PostgreSQL: a batch's values in one statement, from arrays (money in units).
_UPDATE_FROM_ARRAYS = text("""
    UPDATE members AS m SET current_value = v.current_value,
        potential_value = v.potential_value, clv = v.clv, value_segment = v.value_segment,
        value_at = v.value_at
    FROM unnest(CAST(:ids AS text[]), CAST(:current AS bigint[]), CAST(:potential AS bigint[]),
                CAST(:clv AS bigint[]), CAST(:segment AS text[]),
                CAST(:at AS timestamptz[]))
        AS v(member_id, current_value, potential_value, clv, value_segment, value_at)
    WHERE m.member_id = v.member_id
""")


def _units(value: Decimal | None) -> int | None:
    return None if value is None else to_units(value)


def write_values(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store each member's value: dicts of b_id, b_current, b_potential, b_clv (Decimal or
    None), b_segment and b_at (the instant, None with no value)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_UPDATE_FROM_ARRAYS, {
            "ids": [row["b_id"] for row in rows],
            "current": [_units(row["b_current"]) for row in rows],
            "potential": [_units(row["b_potential"]) for row in rows],
            "clv": [_units(row["b_clv"]) for row in rows],
            "segment": [row["b_segment"] for row in rows],
            "at": [row["b_at"] for row in rows]})
        return
    conn.execute(
        t.members.update().where(m.member_id == bindparam("b_id")).values(
            current_value=bindparam("b_current"), potential_value=bindparam("b_potential"),
            clv=bindparam("b_clv"), value_segment=bindparam("b_segment"),
            value_at=bindparam("b_at", type_=UTCDateTime())),
        list(rows))


def record_changes(conn: Connection, changes: Iterable[tuple[str, str, Any, Any]],
                   at: datetime) -> int:
    """Keep (member_id, field, old, new) changes of value in the members' history, as the
    sweep's; how many were kept."""
    rows = [{"member_id": member_id, "field": field, "old_value": old, "new_value": new,
             "changed_at": at, "actor": VALUE_ACTOR, "source": VALUE_SOURCE}
            for member_id, field, old, new in changes]
    if rows:
        conn.execute(t.member_changes.insert(), rows)
    return len(rows)


def _value(field: str, recorded: Any) -> Any:
    if recorded is None or field == "value_segment":
        return recorded
    return Decimal(str(recorded))


def values_at(conn: Connection, member_ids: Iterable[str],
              until: datetime) -> dict[str, list[tuple[datetime, str, Any]]]:
    """Each member's recorded value changes up to `until`, oldest first: (changed_at, field,
    new value), money as Decimal."""
    found: dict[str, list[tuple[datetime, str, Any]]] = defaultdict(list)
    ids = sorted(set(member_ids))
    for start in range(0, len(ids), IDS_PER_QUERY):
        rows = conn.execute(
            select(ch.member_id, ch.changed_at, ch.field, ch.new_value)
            .where(ch.member_id.in_(ids[start:start + IDS_PER_QUERY]),
                   ch.source == VALUE_SOURCE, ch.field.in_(VALUE_FIELDS),
                   ch.changed_at <= until)
            .order_by(ch.member_id, ch.changed_at, ch.id))
        for row in rows:
            found[row.member_id].append((row.changed_at, row.field,
                                         _value(row.field, row.new_value)))
    return found


def as_of(changes: Sequence[tuple[datetime, str, Any]], at: datetime) -> dict[str, Any]:
    """The value fields as the latest changes at or before `at` left them (none: not valued
    by then)."""
    values: dict[str, Any] = {}
    for changed_at, field, value in changes:
        if changed_at > at:
            break
        values[field] = value
    return values
