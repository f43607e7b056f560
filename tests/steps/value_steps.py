"""Steps of features/customer_value.feature: a programme's purchase history written as the tills
would have left it, the daily sweep valuing members, and what the member's record and the till
show of it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pytest_bdd import given, parsers, then, when

from loyalty.services.sweep import run_sweep
from tests.integration.helpers import use_rules
from tests.integration.test_sweep_tiers import add_member
from tests.integration.value_members import AS_OF, buys, regulars
from tests.steps.programme_steps import World

GROW_RULE = """
ruleset: value
description: Rules on the member's value.
on: [purchase]
rules:
  - id: grow-welcome
    description: 100 points on every purchase by a member marketing wants to grow
    priority: 60
    when:
      - {fact: member.value_segment, is: grow}
    then:
      - award_points: {points: 100}
"""


def _member(world: World, name: str) -> str:
    member_id = f"M-{name.upper()}"
    world.members[name] = member_id
    add_member(world.ctx, member_id, "member", bucket=900 + len(world.members))
    return member_id


@given("forty regular members who have bought for two years, from every week to twice a year")
def regular_members(world: World) -> None:
    world.now = AS_OF
    regulars(world.ctx)


@given(parsers.parse("Nina joined a month ago and has bought something for 300.00 every four "
                     "days since"))
def nina(world: World) -> None:
    buys(world.ctx, _member(world, "Nina"), "300.00", [1 + 4 * k for k in range(8)])


@given("Leo bought for 800.00 every forty days, then nothing for over a year")
def leo(world: World) -> None:
    buys(world.ctx, _member(world, "Leo"), "800.00", [400 + 40 * k for k in range(6)])


@given("Mia joined a month ago and has not bought anything")
def mia(world: World) -> None:
    _member(world, "Mia")


@given("a rule gives 100 points on every purchase by a member in the grow segment")
def grow_rule(world: World) -> None:
    use_rules(world.ctx, value=GROW_RULE)


@when("the daily sweep values the members")
def sweep(world: World) -> None:
    run_sweep(world.ctx, AS_OF)


@when(parsers.parse("{name} buys a kettle for {price}"))
def kettle(world: World, name: str, price: str) -> None:
    world.now = AS_OF + timedelta(hours=3)
    world.purchase(name, [{"sku": "KETTLE-1", "category": "kitchen", "quantity": 1,
                           "unit_price": price}])


def value(world: World, name: str) -> dict[str, object]:
    found: dict[str, object] = world.member(name)["value"]
    return found


@then(parsers.parse("{name} is in the {segment} segment"))
def in_segment(world: World, name: str, segment: str) -> None:
    assert value(world, name)["segment"] == segment


@then(parsers.parse("{name}'s predicted value is more than four times what she has spent"))
def far_more_to_come(world: World, name: str) -> None:
    found = value(world, name)
    assert Decimal(str(found["potential_value"])) > 4 * Decimal(str(found["current_value"]))


@then(parsers.parse("{name}'s predicted value is less than a third of what he used to spend "
                    "in a year"))
def little_to_come(world: World, name: str) -> None:
    yearly = Decimal("800.00") * 365 / 40
    assert Decimal(str(value(world, name)["potential_value"])) < yearly / 3


@then(parsers.parse("{name}'s record shows her current value of {current}, her predicted value "
                    "and her lifetime value, as of the sweep"))
def record_shows(world: World, name: str, current: str) -> None:
    found = value(world, name)
    assert found["current_value"] == current
    potential = Decimal(str(found["potential_value"]))
    assert potential > 0
    assert Decimal(str(found["clv"])) == Decimal(current) + potential
    assert found["as_of"] == AS_OF.isoformat()


@then(parsers.parse("{name} has no value and no segment"))
def no_value(world: World, name: str) -> None:
    assert value(world, name) == {"current_value": None, "potential_value": None, "clv": None,
                                  "segment": None, "as_of": None}


@then(parsers.parse("{name} earns the {points:d} points for being in the grow segment"))
def earns(world: World, name: str, points: int) -> None:
    awarded = {d["rule_id"]: d.get("points") for d in world.last_body["decisions"]}
    assert awarded.get("grow-welcome") == points, world.last_body["decisions"]
