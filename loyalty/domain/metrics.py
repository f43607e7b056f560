"""The figures of the metrics program.yaml declares (`metrics:`), worked out in plain Python.

A purchase counts on its own date: its matching units, less those returned by the instant
asked about; for a count, one purchase unless every matching unit was returned. An event
counts its attribute on its date. The database's queries (store/metric_queries.py) count the
same way; this module is how the decision path's memory counts (backtests, explain), and what
one occurrence adds at the till before it is recorded.

Words compare without regard to case (`lower`); an attribute amount is counted in
ten-thousandths (4 decimal places), as money is stored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

from loyalty.domain.model import Occurrence
from loyalty.domain.policy import METRIC_PERIODS, MetricDef

#: Attribute amounts are summed in ten-thousandths.
SCALE = 10_000
#: An attribute at or beyond this size is not an amount (the till refuses it).
AMOUNT_LIMIT = Decimal(10) ** 12
#: A number written as text: digits, an optional sign and fraction, nothing else.
PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
#: Purchases and events older than this before the newest one are kept summed up only.
RECENT = timedelta(days=366)

#: A line as metrics see it: (product code, category), both folded.
Key = tuple[str, str]
Units = tuple[tuple[Key, int], ...]


def fold(word: str) -> str:
    """A category or product code as metrics compare it: each letter in lower case, on its own
    (as PostgreSQL's lower() does, whatever letters surround it)."""
    return word.lower() if word.isascii() else "".join(letter.lower() for letter in word)


def filtered(metric: MetricDef) -> bool:
    """Whether the metric names categories or products (without, every line matches)."""
    return bool(metric.categories or metric.skus)


@cache
def _chosen(metric: MetricDef) -> tuple[frozenset[str], frozenset[str]]:
    """The metric's categories and product codes, folded."""
    return (frozenset(fold(c) for c in metric.categories),
            frozenset(fold(s) for s in metric.skus))


def matches(metric: MetricDef, key: Key) -> bool:
    """Whether a line (product code, category; folded) counts for the metric."""
    if not filtered(metric):
        return True
    sku, category = key
    categories, skus = _chosen(metric)
    return category in categories or sku in skus


def units_of(lines: Iterable[tuple[str, str, int]]) -> Units:
    """Lines (product code, category, quantity) as metrics hold them."""
    return tuple(((fold(sku), fold(category)), quantity) for sku, category, quantity in lines)


def purchase_amount(metric: MetricDef, bought: Units, returned: Iterable[Units] = ()) -> int:
    """What one purchase adds to a line metric, after the returns made against it."""
    have = sum(quantity for key, quantity in bought if matches(metric, key))
    left = have - sum(quantity for lines in returned for key, quantity in lines
                      if matches(metric, key))
    if metric.measure == "units":
        return left
    return 1 if left > 0 or (have == 0 and not filtered(metric)) else 0


def attribute_units(kind: str, raw: Any) -> int | None:
    """A number or money attribute in ten-thousandths; None when it is not one of its type: a
    JSON number, or a number written plainly as text (`12.5`), below 10^12; money is not
    negative and has at most 4 decimal places."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, str):
        if not PLAIN_DECIMAL.fullmatch(raw):
            return None
        text = raw
    elif isinstance(raw, int | float | Decimal):
        text = str(raw)
    else:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= AMOUNT_LIMIT:
        return None
    exponent = value.as_tuple().exponent
    if kind == "money" and (value < 0 or (isinstance(exponent, int) and exponent < -4)):
        return None
    return int((value * SCALE).to_integral_value(ROUND_HALF_UP))


def amount(metric: MetricDef, units: int) -> Decimal:
    """A figure from its counted units: whole units or purchases, or an attribute's sum."""
    if metric.measure != "attribute":
        return Decimal(units)
    value = Decimal(int(units)).scaleb(-4)
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else value.normalize()


def occurrence_amount(metric: MetricDef, occurrence: Occurrence) -> Decimal:
    """What one purchase or event adds to the metric, before it is recorded."""
    if metric.measure == "attribute":
        if occurrence.kind != metric.event:
            return amount(metric, 0)
        raw = occurrence.attributes.get(metric.attribute)
        return amount(metric, attribute_units(metric.attribute_type, raw) or 0)
    if occurrence.kind != "purchase":
        return Decimal(0)
    bought = units_of((line.sku, line.category, line.quantity) for line in occurrence.lines)
    return amount(metric, purchase_amount(metric, bought))


def counts_event(metrics: Iterable[MetricDef], kind: str) -> bool:
    """Whether events of this type add to one of the metrics."""
    return any(metric.measure == "attribute" and metric.event == kind for metric in metrics)


@dataclass
class _Bought:
    at: datetime
    lines: Units
    returns: list[tuple[datetime, Units]] = field(default_factory=list)


@dataclass
class MetricLog:
    """One member's purchases and events as metrics count them, for figures in memory: the last
    year's in full, older ones summed up (only the lifetime figures reach them)."""

    bought: dict[str, _Bought] = field(default_factory=dict)
    events: list[tuple[datetime, str, Mapping[str, Any]]] = field(default_factory=list)
    #: net units of the purchases summed up, by line
    old_units: Counter[Key] = field(default_factory=Counter)
    #: the purchases summed up that still hold units (or never had lines), by the lines held
    old_purchases: Counter[frozenset[Key]] = field(default_factory=Counter)
    #: the events summed up: units by (event type, attribute, type read as)
    old_events: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    oldest: datetime | None = None

    def purchase(self, transaction_id: str, at: datetime,
                 lines: Iterable[tuple[str, str, int]]) -> None:
        self.bought[transaction_id] = _Bought(at, units_of(lines))
        self._keep(at)

    def returned(self, original_id: str, at: datetime, lines: Iterable[tuple[str, str, int]],
                 held: Iterable[tuple[str, str, int]]) -> None:
        """A return of `lines` against a purchase that held `held` (units not yet returned)."""
        units = units_of(lines)
        recent = self.bought.get(original_id)
        if recent is not None:
            recent.returns.append((at, units))
            return
        before: Counter[Key] = Counter()
        for key, quantity in units_of(held):
            before[key] += quantity
        after = before.copy()
        for key, quantity in units:
            after[key] -= quantity
            self.old_units[key] -= quantity
        was = frozenset(key for key, quantity in before.items() if quantity > 0)
        if self.old_purchases[was] > 0:
            self.old_purchases[was] -= 1
            now = frozenset(key for key, quantity in after.items() if quantity > 0)
            if now:
                self.old_purchases[now] += 1

    def event(self, kind: str, at: datetime, attributes: Mapping[str, Any]) -> None:
        self.events.append((at, kind, dict(attributes)))
        self._keep(at)

    def figures(self, metrics: Iterable[MetricDef], as_of: datetime) -> dict[str, Decimal]:
        """Every figure of the metrics as of `as_of`, by figure name (`nights_365d`)."""
        found: dict[str, Decimal] = {}
        starts = {period: as_of - timedelta(days=days)
                  for period, days in METRIC_PERIODS.items() if days is not None}
        for metric in metrics:
            totals = dict.fromkeys(METRIC_PERIODS, 0)
            for at, units in self._counted(metric, as_of):
                for period, start in starts.items():
                    if at >= start:
                        totals[period] += units
                totals["lifetime"] += units
            totals["lifetime"] += self._summed_up(metric)
            for period, units in totals.items():
                found[f"{metric.name}_{period}"] = amount(metric, units)
        return found

    def _counted(self, metric: MetricDef, as_of: datetime) -> Iterator[tuple[datetime, int]]:
        if metric.measure == "attribute":
            for at, kind, attributes in self.events:
                if kind == metric.event and at <= as_of:
                    raw = attributes.get(metric.attribute)
                    yield at, attribute_units(metric.attribute_type, raw) or 0
            return
        for bought in self.bought.values():
            if bought.at <= as_of:
                returns = (units for at, units in bought.returns if at <= as_of)
                yield bought.at, purchase_amount(metric, bought.lines, returns)

    def _summed_up(self, metric: MetricDef) -> int:
        if metric.measure == "attribute":
            return self.old_events[(metric.event, metric.attribute, metric.attribute_type)]
        if metric.measure == "units":
            return sum(units for key, units in self.old_units.items() if matches(metric, key))
        return sum(count for keys, count in self.old_purchases.items()
                   if (not keys and not filtered(metric))
                   or any(matches(metric, key) for key in keys))

    def _keep(self, newest: datetime) -> None:
        """Sum up what is more than RECENT older than `newest`."""
        cutoff = newest - RECENT
        if self.oldest is not None and self.oldest >= cutoff:
            self.oldest = min(self.oldest, newest)
            return
        for transaction_id, bought in list(self.bought.items()):
            if bought.at < cutoff:
                self._sum_up_purchase(bought)
                del self.bought[transaction_id]
        kept = []
        for at, kind, attributes in self.events:
            if at < cutoff:
                for name, raw in attributes.items():
                    for read_as in ("number", "money"):
                        self.old_events[(kind, name, read_as)] += attribute_units(read_as, raw) or 0
            else:
                kept.append((at, kind, attributes))
        self.events = kept
        times = [b.at for b in self.bought.values()] + [at for at, _, _ in self.events]
        self.oldest = min(times, default=None)

    def _sum_up_purchase(self, bought: _Bought) -> None:
        held: Counter[Key] = Counter()
        for key, quantity in bought.lines:
            held[key] += quantity
        for _, units in bought.returns:
            for key, quantity in units:
                held[key] -= quantity
        self.old_units.update(held)
        if not bought.lines:
            self.old_purchases[frozenset()] += 1
            return
        keys = frozenset(key for key, quantity in held.items() if quantity > 0)
        if keys:
            self.old_purchases[keys] += 1
