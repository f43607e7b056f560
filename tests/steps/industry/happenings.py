"""Steps about what happens besides purchases: service visits and repairs, complaints,
treatments, partner top-ups, or any event the programme declares."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from pytest_bdd import given, parsers, then, when

from tests.steps.industry.words import AMOUNT, NAME, POSSESSIVE, amount, code
from tests.steps.industry.world import World

AGO = r"(?: (?P<days>\d+) days? ago)?"


def at(world: World, days: str | None) -> Any:
    """Now, or `days` days ago."""
    return world.earlier(int(days)) if days else nullcontext(world.now)


def appliance(world: World, words: str) -> str:
    """The category of the appliance a spec names ("washing machine" is washer)."""
    return str(world.find_product(words)["category"])


def typed(world: World, kind: str, attribute: str, text: str) -> Any:
    """A detail written in a table, as the programme declares it for `kind` events."""
    events = world.pack_file("program.yaml").get("events") or {}
    declared = ((events.get(kind) or {}).get("attributes") or {}).get(attribute)
    declared_type = declared.get("type") if isinstance(declared, dict) else declared
    if declared_type == "yes/no":
        return {"yes": True, "no": False}[text.casefold()]
    if declared_type in ("money", "number"):
        return str(amount(text))
    if declared_type == "list":
        return [part.strip() for part in text.split(",")]
    return text


# -- any declared event ----------------------------------------------------------------------

@given(parsers.re(rf"{NAME} had an? (?P<kind>[a-z_ ]+?) event (?P<days>\d+) days ago with:"))
@when(parsers.re(rf"{NAME} has an? (?P<kind>[a-z_ ]+?) event with:"))
def any_event(world: World, name: str, kind: str, datatable: list[list[str]],
              days: str | None = None) -> None:
    """An event of any declared type, with a table of its details (detail, value)."""
    event_type = "_".join(kind.split())
    _, *rows = datatable
    details = {row[0]: typed(world, event_type, row[0], row[1]) for row in rows}
    with at(world, days):
        world.event(name, event_type, details)


# -- service visits (an appliance maker's repair shops and technicians) ---------------------

@given(parsers.re(rf"{NAME}'s (?P<thing>[\w -]+?) was repaired under warranty{AGO}"))
@when(parsers.re(rf"{NAME}'s (?P<thing>[\w -]+?) is repaired under warranty{AGO}"))
def warranty_repair(world: World, name: str, thing: str, days: str | None) -> None:
    with at(world, days):
        world.event(name, "service", {"kind": "repair", "under_warranty": True, "cost": "0",
                                      "appliance": appliance(world, thing)})


@given(parsers.re(rf"{NAME} paid (?P<cost>{AMOUNT}) for a repair of {POSSESSIVE} "
                  rf"(?P<thing>[\w -]+?){AGO}"))
@when(parsers.re(rf"{NAME} pays (?P<cost>{AMOUNT}) for a repair of {POSSESSIVE} "
                 rf"(?P<thing>[\w -]+?){AGO}"))
def paid_repair(world: World, name: str, cost: str, thing: str, days: str | None) -> None:
    with at(world, days):
        world.event(name, "service", {"kind": "repair", "under_warranty": False,
                                      "cost": str(amount(cost)),
                                      "appliance": appliance(world, thing)})


@when(parsers.re(rf"{NAME} brings {POSSESSIVE} (?P<thing>[\w -]+?) to the repair shop "
                 r"(?P<shop>[A-Z][A-Z0-9-]+) for (?:its yearly )?maintenance"))
def shop_maintenance(world: World, name: str, thing: str, shop: str) -> None:
    world.event(name, "service", {"kind": "maintenance", "under_warranty": False, "cost": "0",
                                  "shop": shop, "appliance": appliance(world, thing)})


@when(parsers.re(rf"a technician visits {NAME} to maintain {POSSESSIVE} (?P<thing>[\w -]+)"))
def home_maintenance(world: World, name: str, thing: str) -> None:
    world.event(name, "service", {"kind": "maintenance", "under_warranty": False, "cost": "0",
                                  "appliance": appliance(world, thing)})


# -- complaints -------------------------------------------------------------------------------

@given(parsers.re(rf"{NAME}'s (?P<serious>serious )?complaint was (?P<outcome>upheld|rejected)"
                  rf"{AGO}"))
@when(parsers.re(rf"{NAME}'s (?P<serious>serious )?complaint is (?P<outcome>upheld|rejected)"
                 rf"{AGO}"))
def complaint(world: World, name: str, serious: str | None, outcome: str,
              days: str | None) -> None:
    with at(world, days):
        world.event(name, "complaint",
                    {"outcome": outcome, "severity": "high" if serious else "low"})


# -- treatments (a hospital) ------------------------------------------------------------------

@given(parsers.re(rf"{NAME} had an outpatient treatment in (?P<department>[a-z ]+?)"
                  rf"(?: billed (?P<billed>{AMOUNT}))?{AGO}"))
@when(parsers.re(rf"{NAME} has an outpatient treatment in (?P<department>[a-z ]+?)"
                 rf"(?: billed (?P<billed>{AMOUNT}))?{AGO}"))
def outpatient(world: World, name: str, department: str, billed: str | None,
               days: str | None) -> None:
    with at(world, days):
        world.event(name, "treatment", {"department": code(department), "inpatient": False,
                                        "amount": str(amount(billed or "300"))})


@given(parsers.re(rf"{NAME} left hospital after a stay in (?P<department>[a-z ]+?)"
                  rf"(?: billed (?P<billed>{AMOUNT}))?{AGO}"))
@when(parsers.re(rf"{NAME} leaves hospital after a stay in (?P<department>[a-z ]+?)"
                 rf"(?: billed (?P<billed>{AMOUNT}))?{AGO}"))
def hospital_stay(world: World, name: str, department: str, billed: str | None,
                  days: str | None) -> None:
    with at(world, days):
        world.event(name, "treatment", {"department": code(department), "inpatient": True,
                                        "amount": str(amount(billed or "8000"))})


# -- partner events (a phone operator's top-ups) ---------------------------------------------

@given(parsers.re(rf"{NAME} topped up {POSSESSIVE} phone with (?P<paid>{AMOUNT}) at "
                  rf"(?P<partner>[A-Z][\w ]+?){AGO}"))
@when(parsers.re(rf"{NAME} tops up {POSSESSIVE} phone with (?P<paid>{AMOUNT}) at "
                 rf"(?P<partner>[A-Z][\w ]+?){AGO}"))
def topup(world: World, name: str, paid: str, partner: str, days: str | None) -> None:
    with at(world, days):
        world.event(name, "partner_topup",
                    {"amount": str(amount(paid)), "partner": code(partner)})


@when(parsers.re(rf'{NAME}\'s top-up at (?P<partner>[A-Z][\w ]+?) arrives with the amount '
                 r'"(?P<written>[^"]*)"'))
def garbled_topup(world: World, name: str, partner: str, written: str) -> None:
    """A top-up whose amount is not an amount: refused, nothing recorded."""
    world.notes["ledger_before"] = world.ledger(name)
    world.event(name, "partner_topup", {"amount": written, "partner": code(partner)},
                expect=422)


@then(parsers.re(rf"the (?:top-up|event|visit) is refused and {NAME}'s points are unchanged"))
def refused_unchanged(world: World, name: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.ledger(name) == world.notes["ledger_before"]



# -- a hotel's complaints and reviews --------------------------------------------------------

OUTCOMES = {"upholds": "upheld", "upheld": "upheld", "rejects": "rejected", "rejected": "rejected"}


@given(parsers.re(rf"the hotel (?P<outcome>upheld|rejected) {NAME}'s complaint about "
                  rf"(?:the )?(?P<department>[a-z -]+?){AGO}"))
@when(parsers.re(rf"the hotel (?P<outcome>upholds|rejects) {NAME}'s complaint about "
                 rf"(?:the )?(?P<department>[a-z -]+?){AGO}"))
def hotel_complaint(world: World, outcome: str, name: str, department: str,
                    days: str | None) -> None:
    with at(world, days):
        world.event(name, "complaint",
                    {"outcome": OUTCOMES[outcome], "department": code(department)})


@when(parsers.re(rf"{NAME} reviews {POSSESSIVE} stay with (?P<score>[1-5]) out of 5"))
def review(world: World, name: str, score: str) -> None:
    world.event(name, "review", {"score": score, "site": "hotel-website"})


# -- a rail carrier's late trains and cargo claims -------------------------------------------

CAUSES = {"through our fault": "carrier", "because of the weather": "weather",
          "held at customs": "customs", "through the shipper's fault": "shipper"}
CAUSE = "|".join(CAUSES)


@given(parsers.re(rf"{NAME}'s train arrived (?P<hours>\d+) hours late (?P<cause>{CAUSE}){AGO}"))
@when(parsers.re(rf"{NAME}'s train arrives (?P<hours>\d+) hours late (?P<cause>{CAUSE}){AGO}"))
def late_train(world: World, name: str, hours: str, cause: str, days: str | None) -> None:
    with at(world, days):
        world.event(name, "delay", {"hours": hours, "cause": CAUSES[cause]})


@when(parsers.re(rf"the carrier (?P<outcome>upholds|rejects) {NAME}'s claim for "
                 rf"(?P<claimed>{AMOUNT})"))
def cargo_claim(world: World, outcome: str, name: str, claimed: str) -> None:
    world.event(name, "claim", {"outcome": OUTCOMES[outcome], "amount": str(amount(claimed))})
