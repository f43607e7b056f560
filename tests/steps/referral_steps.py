"""Steps about members who bring friends, spoken through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when

from tests.steps.programme_steps import World, ledger

KETTLE = {"sku": "KETTLE-1", "category": "small-appliances", "quantity": 1}


@given(parsers.parse("{friend} joined on {referrer}'s recommendation"))
def joined_on_recommendation(world: World, friend: str, referrer: str) -> None:
    response = world.post("/api/v1/members", {
        "name": friend, "email": f"{friend.lower()}@example.com",
        "enrolled_at": world.now.isoformat(), "referred_by": world.members[referrer]})
    assert response.status_code == 201, world.last_body
    world.members[friend] = world.last_body["member_id"]


@when(parsers.parse("{name} buys a kettle for {amount}"))
def buys_kettle(world: World, name: str, amount: str) -> None:
    world.purchase(name, [{**KETTLE, "unit_price": amount}])


@when(parsers.parse("{days:d} days pass"))
def days_pass(world: World, days: int) -> None:
    world.now += timedelta(days=days)


@when(parsers.parse("{name} returns the kettle and buys it again"))
def returns_and_buys_again(world: World, name: str) -> None:
    bought = world.last_purchase
    assert world.give_return(name, [{"sku": KETTLE["sku"], "quantity": 1}]).status_code == 201
    world.purchase(name, [dict(line) for line in bought["lines"]])


def referral_rewards(world: World, referrer: str, friend: str) -> list[dict[str, Any]]:
    return [e for e in ledger(world, referrer) if e["kind"] == "earn"
            and e["source"]["id"] == f"referral:{world.members[friend]}"]


@then(parsers.parse("{referrer} has not been rewarded for bringing {friend}"))
def not_rewarded(world: World, referrer: str, friend: str) -> None:
    assert referral_rewards(world, referrer, friend) == []


@then(parsers.parse("{referrer} is rewarded {points:d} points for bringing {friend}"))
def rewarded(world: World, referrer: str, points: int, friend: str) -> None:
    assert sum(e["points"] for e in referral_rewards(world, referrer, friend)) == points


@then(parsers.parse("{referrer} has been rewarded for bringing {friend} only once"))
def rewarded_once(world: World, referrer: str, friend: str) -> None:
    assert len(referral_rewards(world, referrer, friend)) == 1


@then(parsers.parse("{name}'s receipt shows only {owner}'s own points"))
def receipt_is_own(world: World, name: str, owner: str) -> None:
    receipt = world.last_body
    assert receipt["member_id"] == world.members[owner]
    assert receipt["points"]["earned"] == sum(d.get("points", 0) for d in receipt["decisions"])
    assert all(d["rule_id"] != "referral-bonus" for d in receipt["decisions"])


@when(parsers.parse('{name} tries to join again as {alias}, writing her e-mail "{email}", on '
                    "her own recommendation"))
def joins_again_on_own_recommendation(world: World, name: str, alias: str, email: str) -> None:
    member_id = f"M-{alias.upper()}"
    world.members[alias] = member_id
    world.post("/api/v1/members", {"member_id": member_id, "name": alias, "email": email,
                                   "referred_by": world.members[name]})


@then("the till is told a member cannot refer themselves")
def told_self_referral(world: World) -> None:
    assert world.last.status_code == 422, world.last_body
    [message] = world.last_body["details"]["fields"]["referred_by"]
    assert "cannot refer themselves" in message


@then(parsers.parse("{name} is not a member"))
def not_a_member(world: World, name: str) -> None:
    response = world.client.get(f"/api/v1/members/{world.members[name]}", headers=world.headers)
    assert response.status_code == 404
