"""Steps about members giving one another points, spoken through the API."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.store import tables as t
from tests.steps.programme_steps import FRIDGE, World, ledger


def give(world: World, giver: str, receiver: str, points: int, reason: str | None = None) -> Any:
    return world.post(f"/api/v1/members/{world.members[giver]}/transfers", {
        "transfer_id": world.next_id("TR"), "to_member_id": world.members[receiver],
        "points": points, "reason": reason})


@when(parsers.parse('{giver} gives {receiver} {points:d} points "{reason}"'))
def gives(world: World, giver: str, receiver: str, points: int, reason: str) -> None:
    assert give(world, giver, receiver, points, reason).status_code == 201, world.last_body


@given(parsers.parse("{giver} gave {receiver} {points:d} points twice this month"))
def gave_twice(world: World, giver: str, receiver: str, points: int) -> None:
    for _ in range(2):
        assert give(world, giver, receiver, points).status_code == 201, world.last_body


@when(parsers.parse("{giver} tries to give {receiver} {points:d} points once more"))
@when(parsers.parse("{giver} tries to give {receiver} {points:d} points"))
def tries_to_give(world: World, giver: str, receiver: str, points: int) -> None:
    give(world, giver, receiver, points)


@given(parsers.parse("{name} bought a refrigerator for 3999.00"))
def bought_fridge(world: World, name: str) -> None:
    world.purchase(name, [FRIDGE])


@then(parsers.parse("{name} is told the programme's limit on transfers is reached"))
def told_limit(world: World, name: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["code"] == "transfer_refused"
    assert world.last_body["details"]["limit"] == "max_per_month"


@then(parsers.parse("{name} is told she has too few points to give"))
def told_too_few(world: World, name: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["code"] == "insufficient_points"


@then(parsers.parse("the points {receiver} received expire when they would have for {giver}"))
def same_expiry(world: World, receiver: str, giver: str) -> None:
    lots = t.point_lots.c
    with world.ctx.engine.connect() as conn:
        received = conn.execute(select(lots.expires_at, lots.earned).where(
            lots.member_id == world.members[receiver], lots.source_type == "transfer")).all()
        held = {row.expires_at for row in conn.execute(select(lots.expires_at).where(
            lots.member_id == world.members[giver], lots.source_type != "transfer"))}
    assert received and {row.expires_at for row in received} <= held
    given = {lot["expires_at"] for lot in world.last_body["lots"]}
    assert {row.expires_at.isoformat() for row in received} == given


def transfer_entries(world: World, name: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in ledger(world, name) if e["kind"] == kind]


@then(parsers.parse("{name}'s ledger shows {points:d} points given to {other}"))
def ledger_given(world: World, name: str, points: int, other: str) -> None:
    entries = transfer_entries(world, name, "transfer_out")
    assert sum(e["points"] for e in entries) == -points
    assert {e["other_member_id"] for e in entries} == {world.members[other]}


@then(parsers.parse("{name}'s ledger shows {points:d} points received from {other}"))
def ledger_received(world: World, name: str, points: int, other: str) -> None:
    entries = transfer_entries(world, name, "transfer_in")
    assert sum(e["points"] for e in entries) == points
    assert {e["other_member_id"] for e in entries} == {world.members[other]}
