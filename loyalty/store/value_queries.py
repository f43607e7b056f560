"""The statements behind the value reports: members and revenue per tier and per value
segment, revenue per value band (members ranked by what they brought), and the monthly
snapshots grouped by month. Each is one aggregate statement over every member, every
transaction of the window, or every snapshot row of the months asked for, whatever their
number; money comes back in stored units (ten-thousandths), for `from_units`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.engine import Connection

from loyalty.store import tables as t

m = t.members.c
tx = t.transactions.c
s = t.member_snapshots.c

#: The memory PostgreSQL may give each sort and hash of a report's statements: they rank and
#: group every member at once, far more than the server's usual 4MB holds.
REPORT_WORK_MEM = "128MB"
#: Value bands, best first: (label, upper edge as a percentage of members ranked by revenue).
BANDS = (("top 1%", 1), ("1-5%", 5), ("5-20%", 20), ("20-50%", 50), ("bottom 50%", 100))


def room_to_sort(conn: Connection) -> None:
    """Give the rest of this transaction's sorts and hashes `REPORT_WORK_MEM`, and no just-in-time
    compilation (it costs more than it saves on these few statements). PostgreSQL only; the
    settings end with the transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
        conn.execute(text("SET LOCAL jit = off"))


def units(column: Any) -> Any:
    """A money column as its stored integer units, so sums stay exact and unconverted."""
    return type_coerce(column, BigInteger)


def in_window(as_of: datetime, days: int) -> list[Any]:
    """Predicates on transactions: purchases and returns over the `days` days up to `as_of`."""
    return [tx.type.in_(("purchase", "return")),
            tx.occurred_at > as_of - timedelta(days=days), tx.occurred_at <= as_of]


def net_spend(as_of: datetime, days: int, member_ids: Any = None) -> Any:
    """Per member, purchases less returns over the `days` days up to `as_of`, in money units
    (a return's total is negative); members who bought nothing have no row. `member_ids` (a
    subquery) narrows it to some members."""
    query = (
        select(tx.member_id.label("member_id"),
               cast(func.sum(units(tx.total)), BigInteger).label("units"))
        .where(*in_window(as_of, days)).group_by(tx.member_id)
    )
    if member_ids is not None:
        query = query.where(tx.member_id.in_(member_ids))
    return query.subquery("net_spend")


def counted(as_of: datetime) -> Any:
    """A predicate on members: enrolled by `as_of` and not merged into another member."""
    return and_(m.enrolled_at <= as_of, m.merged_into.is_(None))


def _member_rows(as_of: datetime, key: Any, *values: Any) -> Any:
    """One row per member counted as of `as_of`: `key` (what the totals are grouped by), 1
    member, `values`, and no revenue."""
    return select(key.label("key"), literal(1, BigInteger).label("members"), *values,
                  literal(0, BigInteger).label("revenue")).where(counted(as_of))


def _revenue_rows(as_of: datetime, days: int, key: Any, *nothing: Any) -> Any:
    """One row per purchase or return of the window: the member's `key`, no member, `nothing`
    (placeholders for the member rows' values), and the money. Every transaction of the window
    counts, as in `revenue_by_band` (one dated before its member's enrolment too)."""
    return (select(key, literal(0, BigInteger), *nothing, units(tx.total))
            .select_from(t.transactions.join(t.members, m.member_id == tx.member_id))
            .where(*in_window(as_of, days)))


def revenue_by_tier(conn: Connection, as_of: datetime, days: int) -> Sequence[Any]:
    """(tier, members, revenue units) for the members counted as of `as_of`: each member and
    each transaction of the window added up by the member's tier, side by side (no revenue per
    member is needed for the totals)."""
    both = union_all(_member_rows(as_of, m.tier), _revenue_rows(as_of, days, m.tier)).subquery()
    return conn.execute(
        select(both.c.key.label("tier"), func.sum(both.c.members).label("members"),
               func.coalesce(func.sum(both.c.revenue), 0).label("revenue"))
        .group_by(both.c.key)
    ).all()


def revenue_by_band(conn: Connection, as_of: datetime, days: int,
                    members: int) -> Sequence[Any]:
    """(band, revenue units) of the `members` members counted as of `as_of`, ranked by revenue,
    highest first, and cut at 1%, 5%, 20% and 50% of them, each cut rounded up. Only members
    whose revenue is not zero are ranked: those who spent nothing (or as much as they returned)
    fill the ranks between the ones who brought money and the ones who returned more than they
    bought, and add nothing to any band. Which of two members with the same revenue falls on
    which side of a cut changes no band's revenue, so members are ranked by revenue alone."""
    spent = net_spend(as_of, days)
    ranked = (
        select(spent.c.units,
               func.row_number().over(order_by=spent.c.units.desc()).label("rank"),
               func.count().over().label("ranked"))
        .where(spent.c.units != 0)
    ).subquery("ranked")
    # members below those who brought money: after every member who spent nothing
    place = ranked.c.rank + case(
        (and_(ranked.c.units < 0, ranked.c.ranked < members), members - ranked.c.ranked),
        else_=0)
    # place <= ceil(members * percent / 100), in integers
    band = case(*(((place - 1) * 100 < members * edge, literal(label))
                  for label, edge in BANDS[:-1]), else_=literal(BANDS[-1][0]))
    return conn.execute(
        select(band.label("band"), func.sum(ranked.c.units).label("revenue")).group_by(band)
    ).all()


def band_sizes(members: int) -> dict[str, int]:
    """How many of `members` members each value band holds: every cut rounded up."""
    sizes, above = {}, 0
    for label, edge in BANDS:
        cut = -(-members * edge // 100)
        sizes[label], above = cut - above, cut
    return sizes


def revenue_by_segment(conn: Connection, as_of: datetime, days: int) -> Sequence[Any]:
    """(segment, members, current value, potential value, revenue, valued at) per value
    segment of the members counted as of `as_of` (members not valued yet have segment None),
    added up as `revenue_by_tier` adds up tiers."""
    zero = literal(0, BigInteger)
    values = (units(m.current_value).label("current_value"),
              units(m.potential_value).label("potential_value"),
              m.value_at.label("valued_at"))
    both = union_all(
        _member_rows(as_of, m.value_segment, *values),
        _revenue_rows(as_of, days, m.value_segment, zero, zero,
                      literal(None, m.value_at.type)),
    ).subquery()
    return conn.execute(
        select(both.c.key.label("segment"), func.sum(both.c.members).label("members"),
               func.coalesce(func.sum(both.c.current_value), 0).label("current_value"),
               func.coalesce(func.sum(both.c.potential_value), 0).label("potential_value"),
               func.coalesce(func.sum(both.c.revenue), 0).label("revenue"),
               func.max(both.c.valued_at).label("valued_at"))
        .group_by(both.c.key)
    ).all()


def members_by_stage(conn: Connection, as_of: datetime) -> Sequence[Any]:
    """(stage, members) for the members counted as of `as_of`, in the stage the sweep left."""
    return conn.execute(
        select(m.lifecycle_stage.label("stage"), func.count().label("members"))
        .where(counted(as_of)).group_by(m.lifecycle_stage)
    ).all()


def _months(first: date, last: date) -> Any:
    return and_(s.month >= first, s.month <= last)


def snapshot_totals(conn: Connection, first: date, last: date) -> Sequence[Any]:
    """(month, members, spend units) per snapshot month from `first` to `last`."""
    return conn.execute(
        select(s.month, func.count().label("members"),
               func.coalesce(func.sum(units(s.spend_365d)), 0).label("spend"))
        .where(_months(first, last)).group_by(s.month).order_by(s.month)
    ).all()


def top_spend(conn: Connection, tops: dict[date, int]) -> dict[date, int]:
    """Per month, the spend units of the month's `tops[month]` highest spenders: one statement,
    each month read from the top of its (month, spend) index."""
    parts = []
    for month, count in sorted(tops.items()):
        if count <= 0:
            continue
        best = (select(units(s.spend_365d).label("spend")).where(s.month == month)
                .order_by(s.spend_365d.desc()).limit(count)).subquery()
        parts.append(select(literal(month, s.month.type).label("month"),
                            func.coalesce(func.sum(best.c.spend), 0).label("spend")))
    if not parts:
        return {}
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return {row.month: int(row.spend) for row in conn.execute(query)}


def snapshot_moves(conn: Connection, first: date, last: date,
                   column: str) -> Sequence[Any]:
    """(month, had_row_before, previous, current, members) per snapshot month from `first` to
    `last`, for `column` "value_segment" or "lifecycle_stage": where members stand each month
    and where they stood the month before."""
    previous = {"value_segment": s.previous_segment,
                "lifecycle_stage": s.previous_stage}[column]
    before = s.previous_stage.is_not(None)
    return conn.execute(
        select(s.month, before.label("had_row_before"), previous.label("previous"),
               s[column].label("current"), func.count().label("members"))
        .where(_months(first, last)).group_by(s.month, before, previous, s[column])
        .order_by(s.month)
    ).all()
