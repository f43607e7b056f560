"""The member's history as rules test it, read from the recorded rows: each event type's counts
and latest instant, and the products of their purchases net of returns. Read only for the
facts the rules in force test (see `RuleBook.history_needs`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, literal_column, select

from loyalty.domain.history import WINDOWS, EventHistory, Holding, days_between
from loyalty.store import tables as t

_e, _tx = t.events.c, t.transactions.c


def _counts(kind: Any, occurred_at: Any) -> list[Any]:
    def window(days: int) -> Any:
        return func.coalesce(func.sum(case((occurred_at >= bindparam(f"since_{days}"), 1),
                                           else_=0)), 0)

    return [kind.label("kind"), *(window(days) for days in WINDOWS),
            func.count().label("lifetime"), func.max(occurred_at).label("last")]


#: Events of the given types, by type; recorded returns (transactions) as the type `return`.
EVENT_COUNTS = (
    select(*_counts(_e.type, _e.occurred_at))
    .where(_e.member_id == bindparam("b_member_id"), _e.occurred_at <= bindparam("as_of"),
           _e.type.in_(bindparam("types", expanding=True)))
    .group_by(_e.type)
)
RETURN_COUNTS = (
    select(*_counts(literal_column("'return'"), _tx.occurred_at))
    .where(_tx.member_id == bindparam("b_member_id"), _tx.occurred_at <= bindparam("as_of"),
           _tx.type == "return")
)


def _holdings_query() -> Any:
    """Per product, the units the member's purchases by then bought less those returned by
    then (counted per purchase), and the latest purchase leaving some."""
    p, pl = t.transactions.alias("p"), t.transaction_lines.alias("pl")
    r, rl = t.transactions.alias("r"), t.transaction_lines.alias("rl")
    bought = (
        select(p.c.transaction_id.label("purchase_id"), pl.c.sku, pl.c.category,
               func.max(p.c.occurred_at).label("bought_at"),
               func.sum(pl.c.quantity).label("units"))
        .join(pl, pl.c.transaction_id == p.c.transaction_id)
        .where(p.c.member_id == bindparam("b_member_id"), p.c.type == "purchase",
               p.c.occurred_at <= bindparam("as_of"))
        .group_by(p.c.transaction_id, pl.c.sku, pl.c.category)
    ).subquery("bought")
    returned = (
        select(r.c.original_transaction_id.label("purchase_id"), rl.c.sku, rl.c.category,
               func.sum(rl.c.quantity).label("units"))
        .join(rl, rl.c.transaction_id == r.c.transaction_id)
        .where(r.c.member_id == bindparam("b_member_id"), r.c.type == "return",
               r.c.occurred_at <= bindparam("as_of"))
        .group_by(r.c.original_transaction_id, rl.c.sku, rl.c.category)
    ).subquery("returned")
    held = (
        select(bought.c.sku, bought.c.category, bought.c.bought_at,
               (bought.c.units - func.coalesce(returned.c.units, 0)).label("units"))
        .select_from(bought.outerjoin(returned, and_(
            returned.c.purchase_id == bought.c.purchase_id, returned.c.sku == bought.c.sku,
            returned.c.category == bought.c.category)))
    ).subquery("held")
    return (select(held.c.sku, held.c.category, func.max(held.c.bought_at),
                   func.sum(held.c.units))
            .where(held.c.units > 0).group_by(held.c.sku, held.c.category))


HOLDINGS = _holdings_query()


def event_history(conn: Connection, member_id: str, as_of: datetime,
                  types: Collection[str]) -> Mapping[str, EventHistory]:
    """The history of each event type in `types` recorded for the member up to `as_of`; a type
    never recorded has no events."""
    params: dict[str, Any] = {f"since_{days}": as_of - timedelta(days=days) for days in WINDOWS}
    params.update(b_member_id=member_id, as_of=as_of)
    rows: list[Any] = []
    others = sorted(set(types) - {"return"})
    if others:
        rows.extend(conn.execute(EVENT_COUNTS, {**params, "types": others}))
    if "return" in types:
        rows.extend(conn.execute(RETURN_COUNTS, params))
    found = {kind: EventHistory() for kind in types}
    for kind, d30, d90, d365, lifetime, last in rows:
        if lifetime:
            found[kind] = EventHistory(int(d30), int(d90), int(d365), int(lifetime),
                                       None if last is None else days_between(last, as_of))
    return found


def member_holdings(conn: Connection, member_id: str, as_of: datetime) -> tuple[Holding, ...]:
    """What the member holds at `as_of`, by product (see `loyalty.domain.history.holdings`)."""
    rows = conn.execute(HOLDINGS, {"b_member_id": member_id, "as_of": as_of})
    return tuple(sorted((Holding(sku, category, bought_at, int(units))
                         for sku, category, bought_at, units in rows),
                        key=lambda held: (held.sku, held.category)))
