"""A demo's year, planned ahead from the seed: each member's enrolment, purchases (baskets
from the catalogue, sized for their place on the pyramid), returns and the events that follow
purchases, in time order. What depends on the service's answers (offers to present, points to
redeem) is decided while the plan runs."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from loyalty.demo.people import Person
from loyalty.demo.profiles import Order, Profile
from loyalty.demo.shop import Item, Shop
from loyalty.demo.values import attributes
from loyalty.demo.yardstick import Yardstick
from loyalty.domain.attributes import RAISED_EVENTS, TRANSACTION_EVENTS

#: The most purchases a year a ladder counting purchases makes a top member do.
MOST_PER_YEAR = 60.0


@dataclass(frozen=True)
class Step:
    """One thing a member does at an instant."""

    at: datetime
    kind: str  # enrol, purchase, return, event
    person: Person
    key: str = ""  # the transaction or event id
    lines: tuple[tuple[Item, int], ...] = ()
    original: str = ""  # a return's purchase
    event_type: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    comeback: bool = False  # a lapsed member's first purchase back
    channel: str | None = None
    store: str | None = None
    payment: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((item.price * quantity for item, quantity in self.lines), Decimal(0))


@dataclass(frozen=True)
class Calendar:
    """The demo's span and the programme's timing it plans around."""

    start: datetime
    end: datetime
    lapsed_days: int
    return_days: int

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def plan(people: Sequence[Person], shop: Shop, profile: Profile, yard: Yardstick,
         calendar: Calendar, seed: int) -> list[Step]:
    """Every member's steps, in the order they happen."""
    ids = [p.member_id for p in people]
    steps: list[tuple[datetime, int, int, Step]] = []
    for person in people:
        for rank, step in enumerate(_member_steps(person, shop, profile, yard, calendar,
                                                  seed, ids)):
            if step.at <= calendar.end:
                steps.append((step.at, person.index, rank, step))
    steps.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in steps]


def _member_steps(person: Person, shop: Shop, profile: Profile, yard: Yardstick,
                  calendar: Calendar, seed: int, ids: Sequence[str]) -> list[Step]:
    rng = random.Random(f"{seed}:plan:{person.index}")
    local = timezone(timedelta(hours=profile.utc_offset_hours))
    steps = [Step(person.enrolled_at.astimezone(local), "enrol", person)]
    if not person.buys:
        return steps
    target = yard.yearly_target(person.segment, rng)
    per_year = profile.frequency.get(person.segment, 1.0) * rng.uniform(0.75, 1.25)
    if yard.kind == "purchases" and target is not None:
        per_year = min(MOST_PER_YEAR, max(per_year, float(target) * rng.uniform(1.0, 1.2)))
    size = None
    if target is not None and yard.kind in ("money", "units"):
        size = target / Decimal(str(round(per_year, 4)))
    times, comeback = _purchase_times(person, rng, profile, calendar, per_year, local)
    home = rng.choice(shop.stores) if shop.stores else None
    for number, at in enumerate(times, start=1):
        key = f"T-{person.index + 1:06d}-{number:03d}"
        order = Order(rng, shop, yard, size, person.habit, person.segment)
        lines = tuple((item, quantity) for item, quantity in profile.basket(order)
                      if quantity > 0)
        if not lines:
            continue
        channel = person.channel if rng.random() < 0.6 or not shop.channels else \
            rng.choice(shop.channels)
        store = home if home is None or rng.random() < 0.8 else rng.choice(shop.stores)
        purchase = Step(at, "purchase", person, key, lines, comeback=at == comeback,
                        channel=channel, store=store,
                        payment=rng.choice(profile.payment_methods))
        steps.append(purchase)
        steps.extend(_after(purchase, number, rng, shop, profile, calendar, ids))
    return steps


def _purchase_times(person: Person, rng: random.Random, profile: Profile,
                    calendar: Calendar, per_year: float,
                    local: timezone) -> tuple[list[datetime], datetime | None]:
    """When the member buys, by their path; and the instant of a comeback purchase: a
    returning member's first purchase after lapsing, while the win-back offer is open."""
    joined = person.enrolled_at.astimezone(local)
    until = calendar.end
    if person.path in ("lapsing", "returning"):
        latest = calendar.end - timedelta(days=calendar.lapsed_days + 8)
        if person.path == "returning":
            latest -= timedelta(days=30)
        until = joined + (max(latest, joined + timedelta(days=20)) - joined) * rng.random()
        until = max(until, joined + timedelta(days=1))
    times: list[datetime] = []
    if rng.random() < 0.6:  # joined at the till while buying
        times.append(joined + timedelta(minutes=rng.randint(2, 30)))
    times += _visits(joined, until, per_year, rng, profile, local)
    if not times:
        times.append(joined + timedelta(hours=rng.uniform(1, 20)))
    comeback = None
    if person.path == "returning":
        back = max(times) + timedelta(days=calendar.lapsed_days + rng.uniform(8, 25))
        comeback = _opening(back.date(), rng, profile, local)
        times += [comeback, *_visits(comeback + timedelta(days=1), calendar.end, per_year,
                                     rng, profile, local)]
    return sorted({t.replace(microsecond=0) for t in times if t > joined}), comeback


def _visits(begin: datetime, finish: datetime, per_year: float, rng: random.Random,
            profile: Profile, local: timezone) -> list[datetime]:
    """Purchase instants between two instants: at `per_year` a year, busier in busy months."""
    found: list[datetime] = []
    busiest = max(profile.seasons)
    rate = per_year / 365.0 * busiest / (sum(profile.seasons) / len(profile.seasons))
    moment = begin
    while True:
        moment += timedelta(days=rng.expovariate(rate))
        if moment > finish:
            return found
        day = moment.astimezone(local).date()
        if rng.random() < profile.seasons[day.month - 1] / busiest:
            found.append(_opening(day, rng, profile, local))


def _opening(day: date, rng: random.Random, profile: Profile, local: timezone) -> datetime:
    """An instant of `day` within the business's opening hours, local time."""
    opens, closes = profile.opening_hours
    seconds = rng.randint(opens * 3600, closes * 3600 - 1)
    return datetime.combine(day, time.min, local) + timedelta(seconds=seconds)


def _after(purchase: Step, number: int, rng: random.Random, shop: Shop, profile: Profile,
           calendar: Calendar, ids: Sequence[str]) -> list[Step]:
    """What may follow a purchase: a return within the return window, and declared events."""
    found: list[Step] = []
    person = purchase.person
    if rng.random() < profile.return_chance:
        item, quantity = rng.choice(purchase.lines)
        back = quantity if quantity == 1 or rng.random() < 0.5 else rng.randint(1, quantity - 1)
        at = (purchase.at + timedelta(days=rng.uniform(1, calendar.return_days))).replace(
            microsecond=0)
        found.append(Step(at, "return", person, f"R-{person.index + 1:06d}-{number:03d}",
                          ((item, back),), original=purchase.key, channel=purchase.channel,
                          store=purchase.store))
    for event in shop.events:
        kind = event.event_type
        if kind in RAISED_EVENTS or kind in TRANSACTION_EVENTS:
            continue
        if rng.random() < profile.events.get(kind, profile.event_chance):
            at = (purchase.at + timedelta(days=rng.uniform(1, 45))).replace(microsecond=0)
            details = attributes(event, profile, rng, at.date(), ids)
            found.append(Step(at, "event", person,
                              f"E-{person.index + 1:06d}-{number:03d}-{kind}",
                              event_type=kind, attributes=details))
    return found
