"""Steps about lifecycle stages: where a member stands, and what their purchase meant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.domain.policy import LIFECYCLE_STAGES
from loyalty.engine import read_rule_dir
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.steps.activation_steps import activate
from tests.steps.programme_steps import World, ledger


@then(parsers.re(rf"(?P<name>[A-Z][a-z]+) counts as (?P<stage>{'|'.join(LIFECYCLE_STAGES)})$"))
def counts_as(world: World, name: str, stage: str) -> None:
    assert world.member(name)["lifecycle_stage"] == stage, world.member(name)


@then(parsers.parse("{name} has received no win-back offer"))
def no_winback_offer(world: World, name: str) -> None:
    with world.ctx.uow(read_only=True) as uow:
        received = uow.connection.execute(select(t.offers.c.offer_code).where(
            t.offers.c.member_id == world.members[name])).scalars().all()
    assert received == [], received


@then(parsers.parse("the receipt does not welcome {name} back"))
def not_welcomed_back(world: World, name: str) -> None:
    receipt = world.last_body
    assert receipt["member_id"] == world.members[name], receipt
    assert "welcome-back" not in [d["rule_id"] for d in receipt["decisions"]], receipt
    with world.ctx.uow(read_only=True) as uow:
        sent = uow.connection.execute(select(t.notifications.c.notification).where(
            t.notifications.c.member_id == world.members[name])).scalars().all()
    assert "welcome-back" not in sent, sent


# ---- growing and mature ---------------------------------------------------------------------

GROWTH = """ruleset: growth
description: A thank-you for members who start buying more than their usual
on: [lifecycle_changed]
rules:
  - id: thanks-for-growing
    description: 200 points when a member starts buying more than their usual
    when:
      - {fact: event.attributes.stage, is: growing}
      - {fact: event.attributes.previous, is: mature}
    then:
      - award_points: {points: 200}
"""
MUG = {"sku": "MUG", "category": "homeware", "quantity": 1, "unit_price": "100.00"}
SOFA = {"sku": "SOFA", "category": "furniture", "quantity": 1, "unit_price": "1000.00"}
PEN = {"sku": "PEN", "category": "stationery", "quantity": 1, "unit_price": "5.00"}


def _activate(world: World, files: dict[str, str], admin: dict[str, str]) -> None:
    response = activate(world, files, admin)
    assert response.status_code == 201, world.last_body


def _sweep(world: World, admin: dict[str, str]) -> None:
    response = world.client.post("/api/v1/sweeps", json={"as_of": world.now.isoformat()},
                                 headers=admin)
    assert response.status_code == 201, response.get_json()


def _growth_points(world: World, name: str) -> list[int]:
    return [entry["points"] for entry in ledger(world, name)
            if entry["rule_id"] == "thanks-for-growing"]


@given(parsers.parse("marketing thanks a member who starts buying more than usual with "
                     "{points:d} points"))
def thank_growth(world: World, points: int, auth: Callable[[str], dict[str, str]]) -> None:
    world.growth_files = {  # type: ignore[attr-defined]
        **read_rule_dir(RULES_DIR),
        "growth.yaml": GROWTH.replace("points: 200", f"points: {points}")}
    _activate(world, world.growth_files, auth("admin"))  # type: ignore[attr-defined]


@given(parsers.parse("the programme measures growth in {measure}"))
def measure_growth(world: World, measure: str, auth: Callable[[str], dict[str, str]]) -> None:
    files = dict(world.growth_files)  # type: ignore[attr-defined]
    files["program.yaml"] = files["program.yaml"].replace(
        "  growing_measure: spend ", f"  growing_measure: {measure} ", 1)
    assert f"growing_measure: {measure}" in files["program.yaml"]
    _activate(world, files, auth("admin"))


@given(parsers.parse("{name} has bought a mug for 100.00 every month for more than a year"))
def monthly_buyer(world: World, name: str) -> None:
    today = world.now
    response = world.post("/api/v1/members", {
        "name": name, "email": f"{name.lower()}@example.com",
        "enrolled_at": (today - timedelta(days=800)).isoformat()})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]
    for days in range(425, 0, -30):  # the last one 5 days ago
        world.now = today - timedelta(days=days)
        world.purchase(name, [MUG])
    world.now = today


@given(parsers.parse("the daily sweep found {name} mature"))
def found_mature(world: World, name: str, auth: Callable[[str], dict[str, str]]) -> None:
    _sweep(world, auth("admin"))
    counts_as(world, name, "mature")


@when(parsers.parse("the daily sweep runs the next day"))
def sweep_next_day(world: World, auth: Callable[[str], dict[str, str]]) -> None:
    world.now += timedelta(days=1)
    _sweep(world, auth("admin"))


@when(parsers.parse("{name} buys a sofa for 1000.00"))
def buy_sofa(world: World, name: str) -> None:
    world.purchase(name, [SOFA])


@given(parsers.parse("{name} bought a sofa for 1000.00 and the daily sweep found her growing"))
def grown(world: World, name: str, auth: Callable[[str], dict[str, str]]) -> None:
    buy_sofa(world, name)
    sweep_next_day(world, auth)
    counts_as(world, name, "growing")


@when(parsers.parse("three months pass with {name} buying her monthly mug"))
def three_months(world: World, name: str) -> None:
    start = world.now
    for month in (1, 2, 3):
        world.now = start + timedelta(days=24 + 30 * (month - 1))
        world.purchase(name, [MUG])
    world.now = start + timedelta(days=92)


@when(parsers.parse("{name} buys a pen for 5.00 on each of the next three days"))
def pens(world: World, name: str) -> None:
    for _ in range(3):
        world.now += timedelta(days=1)
        world.purchase(name, [PEN])


@then(parsers.parse("{name} is thanked for growing with {points:d} points"))
def thanked(world: World, name: str, points: int) -> None:
    assert _growth_points(world, name) == [points]


@then(parsers.parse("{name} has been thanked for growing just once"))
def thanked_once(world: World, name: str) -> None:
    assert len(_growth_points(world, name)) == 1


@then(parsers.parse("{name} has not been thanked for growing"))
def not_thanked(world: World, name: str) -> None:
    assert _growth_points(world, name) == []
