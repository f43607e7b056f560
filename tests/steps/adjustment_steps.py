"""Steps about the service desk adding and taking points by hand, spoken through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_bdd import given, parsers, then, when

from loyalty.services import audit
from loyalty.services.keys import create_key
from tests.steps.programme_steps import World, ledger


@dataclass
class Desk:
    """A person at the service desk, with their own key."""

    name: str
    headers: dict[str, str]


@given(parsers.parse("{clerk} works at the service desk"), target_fixture="desk")
def works_at_the_desk(world: World, clerk: str) -> Desk:
    secret = create_key(world.ctx, "adjust", clerk)[0]
    return Desk(clerk, {"Authorization": f"Bearer {secret}"})


def adjust(world: World, desk: Desk, name: str, points: int, reason: str) -> Any:
    return world.post_as(f"/api/v1/members/{world.members[name]}/adjustments", {
        "adjustment_id": world.next_id("ADJ"), "points": points, "reason": reason,
    }, desk.headers)


@when(parsers.parse('{clerk} adds {points:d} points for {name} because "{reason}"'))
def adds(world: World, desk: Desk, clerk: str, points: int, name: str, reason: str) -> None:
    assert desk.name == clerk
    response = adjust(world, desk, name, points, reason)
    assert response.status_code == 201, world.last_body


@when(parsers.parse('{clerk} takes {points:d} points from {name} because "{reason}"'))
def takes(world: World, desk: Desk, clerk: str, points: int, name: str, reason: str) -> None:
    assert desk.name == clerk
    response = adjust(world, desk, name, -points, reason)
    assert response.status_code == 201, world.last_body


@when(parsers.parse('{clerk} tries to take {points:d} points from {name} because "{reason}"'))
def tries_to_take(world: World, desk: Desk, clerk: str, points: int, name: str,
                  reason: str) -> None:
    assert desk.name == clerk
    adjust(world, desk, name, -points, reason)


@when(parsers.parse("{clerk} tries to add {points:d} points for {name} without saying why"))
def adds_without_reason(world: World, desk: Desk, clerk: str, points: int, name: str) -> None:
    assert desk.name == clerk
    adjust(world, desk, name, points, " ")


@then(parsers.parse("{clerk} is told {name} has too few points"))
def told_too_few(world: World, desk: Desk, clerk: str, name: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["code"] == "insufficient_points"


@then(parsers.parse("{clerk} is asked for a reason"))
def asked_for_reason(world: World, desk: Desk, clerk: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert list(world.last_body["details"]["fields"]) == ["reason"]


def audited(world: World, action: str, clerk: str, name: str) -> list[dict[str, Any]]:
    log = audit.read_log(world.ctx, actions=[action], actor=clerk,
                         subject=world.members[name])
    entries: list[dict[str, Any]] = log["entries"]
    return entries


@then(parsers.parse("the audit log shows {clerk} adjusted {name}'s points by {points:d}"))
def audit_shows_adjustment(world: World, clerk: str, name: str, points: int) -> None:
    [entry] = audited(world, "points.adjusted", clerk, name)
    assert entry["details"]["points"] == points, entry
    assert entry["reason"], entry


@then(parsers.parse("the audit log shows {clerk} was refused taking {points:d} points "
                    "from {name}"))
def audit_shows_refusal(world: World, clerk: str, name: str, points: int) -> None:
    [entry] = audited(world, "points.adjustment_refused", clerk, name)
    assert entry["details"]["points"] == -points, entry
    assert audited(world, "points.adjusted", clerk, name) == []


@then(parsers.parse("{name}'s ledger shows {clerk} took {points:d} points "
                    'because "{reason}"'))
def ledger_shows(world: World, name: str, clerk: str, points: int, reason: str) -> None:
    taken = [e for e in ledger(world, name) if e["source"]["type"] == "adjustment"
             and e["kind"] == "adjust"]
    assert sum(e["points"] for e in taken) == -points, taken
    assert {(e["actor"], e["reason"]) for e in taken} == {
        (clerk, f"adjusted by {clerk}: {reason}")}
