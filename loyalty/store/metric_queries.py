"""The figures of declared metrics (program.yaml `metrics:`) in SQL, counted as
loyalty/domain/metrics.py counts them in memory.

Each metric is read as rows (member_id, occurred_at, amount): one per purchase for a line
metric (its matching units less those returned by the instant, or 1 for a purchase counted),
one per event for an attribute metric (its amount in ten-thousandths). The till sums them over
each period; the sweep over its window. Words are folded and attributes read by the same Python
functions on SQLite (registered on each connection) and by equivalent SQL on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from loyalty.domain.metrics import amount, attribute_units, filtered, fold
from loyalty.domain.policy import METRIC_PERIODS, MetricDef
from loyalty.store import tables as t
from loyalty.store.types import UTCDateTime

#: The SQLite functions registered on every connection (see `register_sqlite_functions`).
SQLITE_FOLD = "loyalty_fold"
SQLITE_UNITS = "loyalty_attribute_units"
_PLAIN_DECIMAL = "'^[+-]?[0-9]+([.][0-9]+)?$'"


class folded(FunctionElement[str]):
    """A word as metrics compare it (`loyalty.domain.metrics.fold`)."""

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded(element: folded, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_FOLD}({compiler.process(element.clauses, **kw)})"


class _AttributeUnits(FunctionElement[int]):
    """An event attribute in ten-thousandths (`loyalty.domain.metrics.attribute_units`), 0 when
    it is not a number of its type. Arguments: the JSON column, the name, the JSON path."""

    type = BigInteger()
    inherit_cache = True
    kind = "number"


class money_units(_AttributeUnits):
    name = "money_units"
    inherit_cache = True
    kind = "money"


class number_units(_AttributeUnits):
    name = "number_units"
    inherit_cache = True
    kind = "number"


def _arguments(element: _AttributeUnits, compiler: Any, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(money_units)
@compiles(number_units)
def _units(element: _AttributeUnits, compiler: Any, **kw: Any) -> str:
    column, name, _ = _arguments(element, compiler, **kw)
    kind = f"json_typeof({column} -> CAST({name} AS TEXT))"
    text = f"({column} ->> CAST({name} AS TEXT))"
    number = f"CAST({text} AS NUMERIC)"
    usable = f"abs({number}) < 1000000000000"
    if element.kind == "money":
        usable += f" AND {number} >= 0 AND scale({number}) <= 4"
    return (f"(CASE WHEN {kind} = 'number' OR ({kind} = 'string' AND {text} ~ {_PLAIN_DECIMAL}) "
            f"THEN (CASE WHEN {usable} THEN CAST(ROUND({number} * 10000) AS BIGINT) ELSE 0 END) "
            "ELSE 0 END)")


@compiles(money_units, "sqlite")
@compiles(number_units, "sqlite")
def _units_sqlite(element: _AttributeUnits, compiler: Any, **kw: Any) -> str:
    column, _, path = _arguments(element, compiler, **kw)
    return (f"{SQLITE_UNITS}('{element.kind}', json_type({column}, {path}), "
            f"json_extract({column}, {path}))")


def _sqlite_units(kind: str, json_kind: str | None, value: Any) -> int:
    raw = {"integer": int, "real": float, "text": str}.get(json_kind or "")
    return (attribute_units(kind, raw(value)) or 0) if raw is not None else 0


def register_sqlite_functions(connection: Any) -> None:
    """Give a new SQLite connection the functions metric queries use."""
    connection.create_function(SQLITE_FOLD, 1, lambda word: None if word is None else fold(word),
                               deterministic=True)
    connection.create_function(SQLITE_UNITS, 3, _sqlite_units, deterministic=True)


def _matching(metric: MetricDef, lines: Any) -> Any:
    """A predicate on transaction lines: the metric counts the line."""
    if not filtered(metric):
        return true()
    parts = []
    if metric.categories:
        parts.append(folded(lines.category).in_(sorted({fold(c) for c in metric.categories})))
    if metric.skus:
        parts.append(folded(lines.sku).in_(sorted({fold(s) for s in metric.skus})))
    return or_(*parts)


def _purchases(metric: MetricDef, members: Any, as_of: Any) -> Any:
    p, lines = t.transactions, t.transaction_lines
    r, r_lines = t.transactions.alias("metric_returns"), t.transaction_lines.alias("metric_rl")
    returned = (
        select(r.c.original_transaction_id.label("original"),
               func.sum(r_lines.c.quantity).label("units"))
        .join_from(r, r_lines, r_lines.c.transaction_id == r.c.transaction_id)
        .where(r.c.type == "return", r.c.member_id.in_(members), r.c.occurred_at <= as_of,
               _matching(metric, r_lines.c))
        .group_by(r.c.original_transaction_id)
    ).subquery("metric_returned")
    on_lines = lines.c.transaction_id == p.c.transaction_id
    source = (p.join(lines, on_lines) if filtered(metric)
              else p.outerjoin(lines, on_lines))
    bought = (
        select(p.c.transaction_id, p.c.member_id, p.c.occurred_at,
               func.coalesce(func.sum(lines.c.quantity), 0).label("units"))
        .select_from(source)
        .where(p.c.type == "purchase", p.c.member_id.in_(members), p.c.occurred_at <= as_of,
               _matching(metric, lines.c))
        .group_by(p.c.transaction_id, p.c.member_id, p.c.occurred_at)
    ).subquery("metric_bought")
    left = bought.c.units - func.coalesce(returned.c.units, 0)
    if metric.measure == "units":
        value: Any = left
    elif filtered(metric):
        value = case((left > 0, 1), else_=0)
    else:
        value = case((or_(left > 0, bought.c.units == 0), 1), else_=0)
    return (select(bought.c.member_id, bought.c.occurred_at, value.label("amount"))
            .select_from(bought.outerjoin(returned, returned.c.original
                                          == bought.c.transaction_id)))


def _events(metric: MetricDef, members: Any, as_of: Any) -> Any:
    e = t.events.c
    reader = money_units if metric.attribute_type == "money" else number_units
    units = reader(e.attributes, literal(metric.attribute),
                   literal(f'$."{metric.attribute}"'))
    return select(e.member_id, e.occurred_at, units.label("amount")).where(
        e.type == metric.event, e.member_id.in_(members), e.occurred_at <= as_of)


def metric_rows(metric: MetricDef, members: Any, as_of: Any) -> Any:
    """A SELECT of (member_id, occurred_at, amount) counting toward `metric` up to `as_of`, for
    `members` (a list of ids, or a SELECT of them)."""
    if metric.measure == "attribute":
        return _events(metric, members, as_of)
    return _purchases(metric, members, as_of)


def _totals(metric: MetricDef, index: int) -> Any:
    """One member's units of `metric` over each period: a one-row subquery, bound by name."""
    rows = metric_rows(metric, [bindparam("b_member_id")],
                       bindparam("as_of", type_=UTCDateTime())).subquery(f"metric_{index}")
    columns = []
    for period, days in METRIC_PERIODS.items():
        counted = rows.c.amount if days is None else case(
            (rows.c.occurred_at >= bindparam(f"since_{period}", type_=UTCDateTime()),
             rows.c.amount), else_=0)
        columns.append(func.coalesce(func.sum(counted), 0).label(f"m{index}_{period}"))
    return select(*columns).subquery(f"totals_{index}")


@cache
def _figures_statement(metrics: tuple[MetricDef, ...]) -> Any:
    """The till's statement: every figure of the metrics in one row, one round trip."""
    totals = [_totals(metric, index) for index, metric in enumerate(metrics)]
    source = totals[0]
    for other in totals[1:]:
        source = source.join(other, true())
    return select(*(column for table in totals for column in table.c)).select_from(source)


def figure_values(conn: Any, member_id: str, as_of: datetime,
                  metrics: Sequence[MetricDef]) -> dict[str, Decimal]:
    """Every figure of `metrics` for one member as of `as_of`, by figure name: what happened
    from `as_of` less the period's days (inclusive) up to `as_of`."""
    if not metrics:
        return {}
    params: dict[str, Any] = {"b_member_id": member_id, "as_of": as_of}
    params.update({f"since_{period}": as_of - timedelta(days=days)
                   for period, days in METRIC_PERIODS.items() if days is not None})
    row = iter(conn.execute(_figures_statement(tuple(metrics)), params).one())
    return {name: amount(metric, int(next(row))) for metric in metrics for name in metric.figures}
