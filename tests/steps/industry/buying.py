"""Steps about what members buy and give back: an appliance, a filter, a check-up package,
a therapy session, a hotel stay, a rail shipment; at which shop, with which vouchers and
offers; and returns, refunds and credit notes."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from tests.steps.industry.words import AMOUNT, COUNT, NAME, POSSESSIVE, amount, code, count
from tests.steps.industry.world import World

#: One kind of product, as the specs write it: "a refrigerator", "three filters for 99 each".
ITEM = rf"(?P<count>{COUNT}) (?P<product>[\w .'-]+?)(?: for (?P<price>{AMOUNT})(?: each)?)?"
#: Where: "at the repair shop RS-SH-PUDONG", "at the front desk of CHECKUP-CENTRE".
WHERE = r"(?: at (?:the )?(?P<place>[a-z -]+?)(?: of)? (?P<store>[A-Z][A-Z0-9-]+))?"
#: What the member shows at the till: a voucher she holds, an offer she was given.
SHOWING = (rf'(?: presenting {POSSESSIVE} "(?P<voucher>[^"]+)" voucher)?'
           r'(?: showing the offer "(?P<offer>[^"]+)")?')
BUYS = r"(?:buys|pays for|orders)"
BOUGHT = r"(?:bought|paid for|ordered)"


def line(world: World, product: str, quantity: int, price: str | None) -> dict[str, Any]:
    sku = world.find_product(product)["sku"]
    return world.line(sku, quantity, amount(price) if price else None)


def where(world: World, place: str | None, store: str | None) -> dict[str, Any]:
    """The channel and store of a purchase: the place's name when the programme has such a
    channel ("repair shop" is repair-shop), else its first channel."""
    channels = {str(c).casefold() for c in world.pack_file("program.yaml").get("channels", [])}
    channel = code(place) if place and code(place) in channels else None
    return {"channel": channel, "store_id": store}


def voucher_code(world: World, name: str, reward: str) -> str:
    """The code of a voucher for `reward` the member holds."""
    held = [r["voucher_code"] for r in world.held_rewards(name) if r["reward_id"] == reward]
    assert held, f"{name} holds no {reward}: {world.held_rewards(name)}"
    world.notes[f"voucher:{name}:{reward}"] = held[0]
    return str(held[0])


@when(parsers.re(rf"{NAME} {BUYS} {ITEM}{WHERE}{SHOWING}"))
def buys(world: World, name: str, count: str, product: str, price: str | None,
         place: str | None, store: str | None, voucher: str | None, offer: str | None) -> None:
    extra: dict[str, Any] = {}
    if voucher:
        extra["vouchers"] = [voucher_code(world, name, voucher)]
    if offer:
        extra["offer_codes"] = [offer]
    world.purchase(name, [line(world, product, _count(count), price)],
                   **where(world, place, store), **extra)


@given(parsers.re(rf"{NAME} {BOUGHT} {ITEM}{WHERE} (?P<days>\d+) days? ago"))
def bought(world: World, name: str, count: str, product: str, price: str | None,
           place: str | None, store: str | None, days: str) -> None:
    with world.earlier(int(days)):
        world.purchase(name, [line(world, product, _count(count), price)],
                       **where(world, place, store))


@when(parsers.re(rf"{NAME} {BUYS}:"))
@when(parsers.re(rf"{NAME} (?:checks out after this stay|dines at the hotel without staying"
                 r"|ships this consignment):"))
def buys_basket(world: World, name: str, datatable: list[list[str]]) -> None:
    """A purchase of several lines: a table of item, quantity and (optionally) price."""
    header, *rows = datatable
    lines = []
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        lines.append(line(world, cells["item"], count(cells.get("quantity") or "1"),
                          cells.get("price") or None))
    world.purchase(name, lines)


@when(parsers.re(rf"{NAME} returns (?P<count>the|{COUNT}) (?P<product>[\w .'-]+?)"
                 rf"(?: {POSSESSIVE} bought)?"))
def returns(world: World, name: str, count: str, product: str) -> None:
    """A return of some units (or all, with "the") of a product of the member's last purchase."""
    sku = world.find_product(product)["sku"]
    basket = world.baskets[world.purchases[name]]
    bought_units = sum(line["quantity"] for line in basket if line["sku"] == sku)
    assert bought_units, f"{name}'s last purchase holds no {product}: {basket}"
    world.give_back(name, [{"sku": sku,
                            "quantity": bought_units if count == "the" else _count(count)}])


@then(parsers.re(rf'{NAME} cannot present (?:the|{POSSESSIVE}) "(?P<reward>[^"]+)" '
                 r"voucher again"))
def voucher_spent(world: World, name: str, reward: str) -> None:
    """The voucher was used: presenting it again is refused and records nothing."""
    used = world.notes[f"voucher:{name}:{reward}"]
    assert reward not in {r["reward_id"] for r in world.held_rewards(name)}
    before = world.ledger(name)
    last = world.baskets[world.purchases[name]]
    world.purchase(name, last, vouchers=[used], expect=422)
    assert world.ledger(name) == before


def _count(text: str) -> int:
    return count(text)


# -- stays at a hotel and shipments by rail -------------------------------------------------

#: "2 nights in a deluxe room" (a room line, quantity = nights).
NIGHTS = rf"(?P<count>{COUNT}) nights? in an? (?P<product>[\w .'-]+?)"
#: "3,000 tonnes of coal by unit train" (a cargo line, quantity = tonnes).
TONNES = r"(?P<count>\d[\d,]*) tonnes of (?P<product>[\w .'-]+?)"
ROOM_NIGHT = "room-night"


@when(parsers.re(rf"{NAME} stays {NIGHTS}{SHOWING}"))
@when(parsers.re(rf"{NAME} ships {TONNES}{SHOWING}"))
def stays_or_ships(world: World, name: str, count: str, product: str, voucher: str | None,
                   offer: str | None) -> None:
    extra: dict[str, Any] = {}
    if voucher:
        extra["vouchers"] = [voucher_code(world, name, voucher)]
    if offer:
        extra["offer_codes"] = [offer]
    world.purchase(name, [line(world, product, _count(count), None)], **extra)


@given(parsers.re(rf"{NAME} stayed {NIGHTS} (?P<days>\d+) days? ago"))
@given(parsers.re(rf"{NAME} shipped {TONNES} (?P<days>\d+) days? ago"))
def stayed_or_shipped(world: World, name: str, count: str, product: str, days: str) -> None:
    with world.earlier(int(days)):
        world.purchase(name, [line(world, product, _count(count), None)])


@given(parsers.re(rf"{NAME} stayed {NIGHTS} (?P<times>\d+) times in the last (?P<days>\d+) days"))
def stayed_often(world: World, name: str, count: str, product: str, times: str,
                 days: str) -> None:
    """Separate stays spread over the last `days` days, the last a few days ago."""
    stays, span = int(times), int(days)
    for number in range(stays):
        with world.earlier(span - number * span // stays):
            world.purchase(name, [line(world, product, _count(count), None)])


@given(parsers.re(rf"(?P<others>\d+) other guests each stayed {NIGHTS} (?P<days>\d+) days? ago"))
def other_guests(world: World, others: str, count: str, product: str, days: str) -> None:
    for number in range(int(others)):
        guest = f"Guest{number:03d}"
        world.enrol(guest)
        with world.earlier(int(days)):
            world.purchase(guest, [line(world, product, _count(count), None)])


@given(parsers.re(r"these shippers shipped (?P<product>[\w .'-]+?) (?P<days>\d+) days? ago:"))
def shippers_shipped(world: World, product: str, days: str,
                     datatable: list[list[str]]) -> None:
    """Shippers enrolled, each with one shipment: a table of shipper and tonnes."""
    header, *rows = datatable
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        world.enrol(cells["shipper"])
        with world.earlier(int(days)):
            world.purchase(cells["shipper"], [line(world, product, count(cells["tonnes"]), None)])


@when(parsers.re(rf"{NAME} stays {NIGHTS}(?P<one>, one of them)? paid with {POSSESSIVE} "
                 r'"(?P<voucher>[^"]+)" voucher'))
def stays_on_voucher(world: World, name: str, count: str, product: str, one: str | None,
                     voucher: str) -> None:
    """A stay with one night paid by a voucher the guest holds: that night is billed at 0."""
    nights = _count(count)
    assert one or nights == 1, "a voucher pays for one night: say which"
    sku = world.find_product(product)["sku"]
    lines = [world.line(sku, nights - 1)] if nights > 1 else []
    lines.append(world.line(sku, 1, "0"))
    world.purchase(name, lines, vouchers=[voucher_code(world, name, voucher)])


def still_held(world: World, name: str, sku: str) -> int:
    """Units of `sku` on the member's last purchase not yet given back."""
    purchase = world.purchases[name]
    bought_units = sum(ln["quantity"] for ln in world.baskets[purchase] if ln["sku"] == sku)
    return bought_units - int(world.notes.get(f"returned:{purchase}:{sku}", 0))


def give_back_units(world: World, name: str, sku: str, units: int) -> None:
    purchase = world.purchases[name]
    world.give_back(name, [{"sku": sku, "quantity": units}])
    world.notes[f"returned:{purchase}:{sku}"] = (
        int(world.notes.get(f"returned:{purchase}:{sku}", 0)) + units)


def first_line(world: World, name: str, room: bool) -> str:
    """The SKU of the room line (or the first cargo line) of the member's last purchase."""
    basket = world.baskets[world.purchases[name]]
    found = [ln["sku"] for ln in basket if (ln["category"] == ROOM_NIGHT) is room
             and (room or ln["category"] != "services")]
    assert found, f"no such line in {name}'s last purchase: {basket}"
    return str(found[0])


@when(parsers.re(rf"the hotel refunds (?P<count>{COUNT}) nights? of {NAME}'s stay"))
def refund_nights(world: World, count: str, name: str) -> None:
    give_back_units(world, name, first_line(world, name, room=True), _count(count))


@when(parsers.re(rf"the hotel refunds the rest of {NAME}'s stay"))
def refund_rest(world: World, name: str) -> None:
    for sku in {ln["sku"] for ln in world.baskets[world.purchases[name]]}:
        if still_held(world, name, sku):
            give_back_units(world, name, sku, still_held(world, name, sku))


@when(parsers.re(rf"the carrier credits {NAME} for (?P<count>\d[\d,]*) tonnes of that shipment"))
def credit_tonnes(world: World, name: str, count: str) -> None:
    give_back_units(world, name, first_line(world, name, room=False), _count(count))
