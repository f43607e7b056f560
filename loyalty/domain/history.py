"""What a member did before the occurrence being judged, as rules test it: how often each type of
event happened and how long ago (`events.<type>.*`), and the products they still hold
(`products.*`). Both the database and the in-memory replay build them with these functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: The windows event counts cover, in days.
WINDOWS = (30, 90, 365)


@dataclass(frozen=True)
class EventHistory:
    """Events of one type the member had before the one judged: counts over the last 30, 90
    and 365 days and ever, and whole days since the latest (None: never)."""

    count_30d: int = 0
    count_90d: int = 0
    count_365d: int = 0
    count_lifetime: int = 0
    days_since_last: int | None = None


@dataclass(frozen=True)
class Holding:
    """Units of one product (code and category) the member holds, bought and not returned, and
    when the latest purchase of which some are still held was made (the warranty running
    longest)."""

    sku: str
    category: str
    bought_at: datetime
    quantity: int


@dataclass(frozen=True)
class HeldLine:
    """Units of a product a purchase added (positive) or a return took back (negative)."""

    purchase_id: str
    sku: str
    category: str
    occurred_at: datetime
    quantity: int


@dataclass(frozen=True)
class HistoryNeeds:
    """What the rules judging one type of occurrence test of the member's history: the event
    types whose `events.<type>.*` facts they read, and whether they read `products.*`."""

    events: frozenset[str] = frozenset()
    products: bool = False

    def __bool__(self) -> bool:
        return bool(self.events) or self.products


NO_NEEDS = HistoryNeeds()


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days from one instant to a later one (0 when it is not later)."""
    return max(0, (later - earlier).days)


def event_history(times: Iterable[datetime], as_of: datetime) -> EventHistory:
    """The history of one type of event from the instants it happened; those after `as_of`
    are not counted."""
    since = {days: as_of - timedelta(days=days) for days in WINDOWS}
    counts = dict.fromkeys(WINDOWS, 0)
    lifetime = 0
    last: datetime | None = None
    for at in times:
        if at > as_of:
            continue
        lifetime += 1
        last = at if last is None or at > last else last
        for days in WINDOWS:
            counts[days] += at >= since[days]
    return EventHistory(counts[30], counts[90], counts[365], lifetime,
                        None if last is None else days_between(last, as_of))


def holdings(lines: Iterable[HeldLine], as_of: datetime) -> tuple[Holding, ...]:
    """What the member holds at `as_of`, by product: the units each purchase bought less those
    returned by then, added up over the purchases leaving some, with the latest of those
    purchases; products wholly returned are left out. In order of code and category."""
    left: dict[tuple[str, str, str], int] = {}
    bought: dict[tuple[str, str, str], datetime] = {}
    for line in lines:
        if line.occurred_at > as_of:
            continue
        key = (line.purchase_id, line.sku, line.category)
        left[key] = left.get(key, 0) + line.quantity
        if line.quantity > 0:
            bought[key] = line.occurred_at
    units: dict[tuple[str, str], int] = {}
    latest: dict[tuple[str, str], datetime] = {}
    for key, count in left.items():
        if count <= 0 or key not in bought:
            continue
        product = key[1:]
        units[product] = units.get(product, 0) + count
        if product not in latest or bought[key] > latest[product]:
            latest[product] = bought[key]
    return tuple(Holding(sku, category, latest[(sku, category)], units[(sku, category)])
                 for sku, category in sorted(units))
