"""How each business's customers behave in a demo: what one purchase looks like (a basket of
appliances, a hotel stay, a rail shipment), how often each segment buys, what happens after a
purchase, and the values of the event details the programme declares without listing them.
A pack without a profile of its own gets the generic one."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from loyalty.demo.shop import Item, Shop
from loyalty.demo.yardstick import Yardstick

Lines = list[tuple[Item, int]]
#: How far past what is left of its budget a basket may go with one more product.
STRETCH = Decimal("1.3")


@dataclass(frozen=True)
class Order:
    """What one purchase is built from: the member's habits and the size it should have, in
    the yardstick's unit (money, units of the counted categories); None: any size."""

    rng: random.Random
    shop: Shop
    yard: Yardstick
    size: Decimal | None
    habit: tuple[Item, ...]
    segment: str

    def pick(self, items: tuple[Item, ...]) -> Item:
        """An item, the member's usual ones first."""
        usual = [item for item in self.habit if item in items]
        if usual and self.rng.random() < 0.7:
            return self.rng.choice(usual)
        return self.rng.choice(items)

    def amount(self, low: int = 1) -> int:
        """The size with some spread, as a whole number of at least `low`."""
        if self.size is None:
            return low
        return max(low, round(float(self.size) * self.rng.uniform(0.7, 1.3)))


Basket = Callable[[Order], Lines]


def any_basket(order: Order) -> Lines:
    """A purchase of the catalogue's products sized by the yardstick: its value for a ladder
    by spend, units of the counted products for one by units, a counted product for one by
    purchases."""
    yard, shop = order.yard, order.shop
    counted = tuple(i for i in shop.items if yard.counts(i.sku, i.category))
    if yard.kind == "money" and order.size is not None:
        return fill_value(order, shop.items, Decimal(order.amount()))
    lines: Lines = []
    if yard.kind in ("units", "purchases") and counted:
        lines.append((order.pick(counted), order.amount() if yard.kind == "units" else 1))
    others = tuple(i for i in shop.items if i not in counted) or shop.items
    for _ in range(order.rng.randint(0 if lines else 1, 2)):
        item = order.pick(others)
        if all(item != line[0] for line in lines):
            lines.append((item, order.rng.randint(1, 2)))
    return lines


def fill_value(order: Order, items: tuple[Item, ...], budget: Decimal, *,
               most_lines: int = 8) -> Lines:
    """Products adding up to about `budget`: the member's usual ones first, more units of one
    already chosen when the shelf has nothing big enough."""
    shelf = sorted(items, key=lambda i: i.price)
    prices = [item.price for item in shelf]
    chosen: dict[Item, int] = {}
    total = Decimal(0)
    while total < budget and len(chosen) < most_lines:
        fitting = bisect.bisect_right(prices, (budget - total) * STRETCH)
        if not fitting:
            if not chosen:
                chosen[shelf[0]] = 1
            break
        item = order.pick(tuple(shelf[:fitting]))
        chosen[item] = chosen.get(item, 0) + 1
        total += item.price
    if total < budget * Decimal("0.6") and chosen:
        priciest = max(chosen, key=lambda i: i.price)
        chosen[priciest] += int((budget - total) / priciest.price)
    return list(chosen.items())


def hotel_stay(order: Order) -> Lines:
    """A stay billed at check-out: the room for a number of nights, and extras."""
    rooms = tuple(i for i in order.shop.items if i.category.casefold() == "room-night")
    extras = tuple(i for i in order.shop.items if i not in rooms)
    if not rooms or not extras:
        return any_basket(order)
    nights = order.amount() if order.yard.counts(rooms[0].sku, rooms[0].category) else \
        order.rng.randint(1, 4)
    nights = min(nights, 14)
    by_price = sorted(rooms, key=lambda i: i.price)
    better = order.segment in ("top", "upper") and order.rng.random() < 0.6
    room = order.pick(tuple(by_price[-3:-1] if better else by_price[:2]) or tuple(by_price))
    lines: Lines = [(room, nights)]
    for item in order.rng.sample(extras, k=min(len(extras), order.rng.randint(0, 3))):
        per_night = item.category.casefold() in ("parking", "restaurant") and \
            order.rng.random() < 0.5
        lines.append((item, nights if per_night else order.rng.randint(1, 2)))
    return lines


def rail_shipment(order: Order) -> Lines:
    """A shipment: one cargo by the tonne, and services by the wagon or once."""
    services = tuple(i for i in order.shop.items if i.category.casefold() == "services")
    cargo = tuple(i for i in order.shop.items if i not in services)
    if not cargo:
        return any_basket(order)
    tonnes = order.amount(low=60) if order.yard.kind == "units" else \
        order.rng.randint(300, 3000)
    lines: Lines = [(order.pick(cargo), tonnes)]
    wagons = max(1, math.ceil(tonnes / 60))
    for item in order.rng.sample(services, k=min(len(services), order.rng.randint(0, 2))):
        by_wagon = "WAGON" in item.sku.upper() or "LOADING" in item.sku.upper()
        lines.append((item, wagons if by_wagon else order.rng.randint(1, 3)))
    return lines


def hospital_visit(order: Order) -> Lines:
    """A visit paid at the front desk: a check-up package, a consultation with tests and
    medicines, a course of therapy sessions or dental care, as big as the bill should be."""
    def of(*categories: str) -> tuple[Item, ...]:
        return tuple(i for i in order.shop.items if i.category.casefold() in categories)

    kinds = [kind for kind in (of("checkup"), of("consultation"), of("therapy"), of("dental"))
             if kind]
    if not kinds:
        return any_basket(order)
    budget = None if order.size is None else Decimal(order.amount())
    kind = order.rng.choice(kinds)
    affordable = tuple(i for i in kind if budget is None or i.price <= budget * STRETCH)
    first = order.pick(affordable or (min(kind, key=lambda i: i.price),))
    sessions = 1
    if first.category.casefold() == "therapy":
        most = 10 if budget is None else max(1, min(10, int(budget / first.price)))
        sessions = order.rng.randint(1, most)
    lines: Lines = [(first, sessions)]
    for extra in (of("imaging"), of("medicine"), of("vaccination")):
        if extra and order.rng.random() < 0.25:
            lines.append((order.pick(extra), 1))
    spent = sum((item.price * quantity for item, quantity in lines), Decimal(0))
    if budget is not None and order.yard.kind == "money" and spent < budget * Decimal("0.7"):
        more = fill_value(order, of("checkup", "dental", "imaging"), budget - spent,
                          most_lines=3)
        lines += [(item, n) for item, n in more if all(item is not i for i, _ in lines)]
    return lines


@dataclass(frozen=True)
class Profile:
    """A business's customers in numbers."""

    #: purchases a year of a member of each segment while they buy
    frequency: Mapping[str, float] = field(default_factory=lambda: {
        "top": 12.0, "upper": 6.0, "regular": 3.0, "occasional": 1.2})
    basket: Basket = any_basket
    #: the chance that a purchase is followed by an event of each declared type
    events: Mapping[str, float] = field(default_factory=dict)
    event_chance: float = 0.05
    #: ranges of declared number and money details, by `event.detail` or by detail name
    ranges: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    #: words of declared word details that list none, by detail name
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    return_chance: float = 0.05
    #: the chance that a member with enough points redeems some after a purchase
    redeem_chance: float = 0.25
    #: the chance that a member holding an offer, or a voucher, presents it at a purchase
    offer_chance: float = 0.6
    voucher_chance: float = 0.5
    utc_offset_hours: int = 8
    opening_hours: tuple[int, int] = (9, 21)
    #: how busy each month is, January first
    seasons: tuple[float, ...] = (1.0,) * 12
    payment_methods: tuple[str, ...] = ("card", "mobile", "cash")


GENERIC = Profile()

PROFILES: dict[str, Profile] = {
    "retail": replace(
        GENERIC, frequency={"top": 14.0, "upper": 6.0, "regular": 3.5, "occasional": 1.6},
        events={"complaint": 0.04, "service": 0.12, "referral": 0.03, "survey": 0.05,
                "visit": 0.05},
        ranges={"cost": (0, 800), "score": (1, 10)},
        seasons=(0.8, 1.3, 0.8, 0.8, 0.9, 1.2, 0.9, 0.9, 1.0, 1.1, 1.6, 1.3)),
    "appliances": replace(
        GENERIC, frequency={"top": 9.0, "upper": 4.0, "regular": 2.0, "occasional": 1.1},
        events={"service": 0.3, "complaint": 0.05},
        ranges={"cost": (0, 1500)},
        seasons=(0.8, 1.2, 0.8, 0.9, 1.0, 1.3, 1.2, 0.9, 0.9, 1.0, 1.5, 1.1)),
    "hotel": replace(
        GENERIC, frequency={"top": 20.0, "upper": 8.0, "regular": 3.0, "occasional": 1.2},
        basket=hotel_stay, events={"complaint": 0.05, "review": 0.25},
        ranges={"score": (1, 5)},
        words={"site": ("ctrip", "tripadvisor", "google", "meituan")},
        return_chance=0.02, opening_hours=(7, 23),
        seasons=(0.9, 1.2, 0.9, 1.0, 1.1, 0.9, 1.3, 1.3, 1.0, 1.2, 0.9, 1.0)),
    "freight": replace(
        GENERIC, frequency={"top": 30.0, "upper": 14.0, "regular": 6.0, "occasional": 2.0},
        basket=rail_shipment, events={"delay": 0.12, "claim": 0.03},
        ranges={"hours": (1, 48), "amount": (1000, 200000)},
        return_chance=0.02, redeem_chance=0.4, opening_hours=(0, 24),
        payment_methods=("invoice", "transfer"),
        seasons=(0.9, 0.7, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.1, 1.0)),
    "hospital": replace(
        GENERIC, frequency={"top": 10.0, "upper": 5.0, "regular": 2.5, "occasional": 1.2},
        basket=hospital_visit, events={"treatment": 0.12, "partner_topup": 0.15},
        ranges={"treatment.amount": (800, 60000), "partner_topup.amount": (30, 300)},
        return_chance=0.02, opening_hours=(8, 20),
        seasons=(1.2, 0.8, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.1, 1.2, 1.0)),
}


def profile_for(pack: str) -> Profile:
    """The pack's profile; the generic one for a pack without its own."""
    return PROFILES.get(pack, GENERIC)
