"""Steps about the values the programme declares: tiers, lifecycle stages and the details
events carry, named in rules and sent by tills."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.engine import read_rule_dir
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.steps.activation_steps import activate
from tests.steps.programme_steps import World

THANKS = """ruleset: thanks
description: A thank-you for members at one stage of their membership.
on: [purchase]
rules:
  - id: stage-thanks
    description: 20 points to thank you
    when:
      - {{fact: member.lifecycle_stage, is: {stage}}}
    then:
      - award_points: {{points: 20}}
"""
SERVICE_CARE = """ruleset: service-care
description: Points after a service visit.
on: [service]
rules:
  - id: costly-repair
    description: 50 points after a repair costing more than 500 CNY
    when:
      - {fact: event.attributes.cost, above: 500}
    then:
      - award_points: {points: 50}
  - id: upheld-service-complaint
    description: 10 points when a complaint about a service is upheld
    when:
      - {fact: event.attributes.outcome, is: upheld}
    then:
      - award_points: {points: 10}
"""


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@when(parsers.parse('an administrator activates a copy of the rules where the tier "{right}" '
                    'is written "{wrong}"'))
def activate_tier_written(world: World, right: str, wrong: str,
                          auth: Callable[[str], dict[str, str]]) -> None:
    files = read_rule_dir(RULES_DIR)
    written = f"{{fact: member.tier, is: {right}}}"
    assert written in files["earning.yaml"]
    files["earning.yaml"] = files["earning.yaml"].replace(
        written, f"{{fact: member.tier, is: {wrong}}}", 1)
    world.mistake_line = _line_of(files["earning.yaml"], f"is: {wrong}}}")  # type: ignore[attr-defined]
    activate(world, files, auth("admin"))


@when(parsers.parse('an administrator activates the rules with a thank-you for "{stage}" '
                    "members"))
def activate_stage_thanks(world: World, stage: str,
                          auth: Callable[[str], dict[str, str]]) -> None:
    files = read_rule_dir(RULES_DIR)
    files["thanks.yaml"] = THANKS.format(stage=stage)
    world.mistake_line = _line_of(files["thanks.yaml"], "lifecycle_stage")  # type: ignore[attr-defined]
    activate(world, files, auth("admin"))


@given("marketing gives 50 points for a repair over 500 CNY and 10 for an upheld service "
       "complaint")
def activate_service_care(world: World, auth: Callable[[str], dict[str, str]]) -> None:
    files = {**read_rule_dir(RULES_DIR), "service-care.yaml": SERVICE_CARE}
    response = activate(world, files, auth("admin"))
    assert response.status_code == 201, world.last_body


@then(parsers.parse('the refusal suggests "{name}"'))
def refusal_suggests(world: World, name: str) -> None:
    (problem,) = world.last_body["details"]["problems"]
    assert problem.endswith(f"(did you mean '{name}'?)"), problem


@given(parsers.parse("{name} has reached the {tier} tier"))
def reached_tier(world: World, name: str, tier: str) -> None:
    with world.ctx.uow() as uow:
        uow.members.update(world.members[name], tier=tier)
        uow.commit()


@then("the gold members' bonus applies to the purchase")
def gold_bonus_applies(world: World) -> None:
    assert "gold-multiplier" in [d["rule_id"] for d in world.last_body["decisions"]]


def _service_visit(world: World, name: str, **attributes: Any) -> None:
    world.post("/api/v1/events", {
        "event_id": world.next_id("SV"), "type": "service", "member_id": world.members[name],
        "occurred_at": world.now.isoformat(), "attributes": attributes,
    })


@when(parsers.re(r'the till reports a service visit for (?P<name>\w+) costing "(?P<cost>[^"]*)"$'))
def service_visit_costing(world: World, name: str, cost: str) -> None:
    _service_visit(world, name, cost=cost)


@when(parsers.re(r'the till reports a service visit for (?P<name>\w+) costing "(?P<cost>[^"]*)" '
                 r'with the outcome "(?P<outcome>[^"]*)"$'))
def service_visit_with_outcome(world: World, name: str, cost: str, outcome: str) -> None:
    _service_visit(world, name, cost=cost, outcome=outcome)


@then(parsers.parse("the till is told the {detail} must be {expected}"))
def told_detail_must_be(world: World, detail: str, expected: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["code"] == "validation_error"
    fields = world.last_body["details"]["fields"]
    assert fields == {f"attributes.{detail}": [f"Must be {expected}."]}, fields


@then(parsers.parse("no service visit of {name}'s is recorded"))
def no_service_visit(world: World, name: str) -> None:
    query = select(func.count()).select_from(t.events).where(
        t.events.c.member_id == world.members[name], t.events.c.type == "service")
    with world.ctx.uow(read_only=True) as uow:
        assert uow.connection.execute(query).scalar_one() == 0


@then(parsers.parse("{name} earns {points:d} points for the visit"))
def earns_for_visit(world: World, name: str, points: int) -> None:
    assert world.last.status_code == 201, world.last_body
    assert world.last_body["member_id"] == world.members[name]
    assert world.last_body["points"]["earned"] == points, world.last_body
