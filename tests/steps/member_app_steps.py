"""Steps about what a member sees (pending points by date, the next tier) and about the pass a
member app reads its own member with, spoken through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pytest_bdd import given, parsers, then, when

from loyalty import create_app
from tests.steps.programme_steps import CHINA, FRIDGE, World, enrol, filters

Auth = Callable[[str], dict[str, str]]


class Phone:
    """Ann's phone: the pass the till gave her, and the servers it may reach."""

    def __init__(self, member_id: str, token: str, token_id: str,
                 servers: list[FlaskClient]) -> None:
        self.member_id = member_id
        self.token = token
        self.token_id = token_id
        self.servers = servers

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, server: int = 0) -> Any:
        return self.servers[server].get(f"/api/v1{path}", headers=self.headers)


@pytest.fixture
def second_server(app_config: dict[str, Any]) -> Iterator[Flask]:
    """Another worker of the service on the same database (with the usual key cache)."""
    worker = create_app({**app_config, "key_cache_seconds": 60.0})
    worker.config["TESTING"] = True
    yield worker
    worker.extensions["loyalty"].engine.dispose()


def day(text: str, year: int = 2026) -> date:
    return datetime.strptime(f"{text} {year}", "%d %B %Y").date()


def local_day(instant: str) -> date:
    """The day an instant falls on in the shop's time zone."""
    return datetime.fromisoformat(instant).astimezone(CHINA).date()


@given(parsers.parse("{name} is a member with his {points:d} welcome points to spend"))
def enrol_him(world: World, name: str, points: int) -> None:
    enrol(world, name, points)


@given(parsers.parse("{name} bought a refrigerator for 3999.00 five days ago"))
def fridge_days_ago(world: World, name: str) -> None:
    now = world.now
    world.now = now - timedelta(days=5)
    world.purchase(name, [FRIDGE])
    world.now = now


@when(parsers.parse("{name} buys two filters at 49.50 each"))
def buy_filters(world: World, name: str) -> None:
    world.purchase(name, [filters(2)])


@when(parsers.parse("{name} spends {amount} on gift cards"))
def gift_cards(world: World, name: str, amount: str) -> None:
    world.purchase(name, [{"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1,
                           "unit_price": amount}])


@then(parsers.parse("the receipt tells {name} that {first:d} points become available on "
                    "{first_day} and {second:d} points on {second_day}"))
def receipt_pending(world: World, name: str, first: int, first_day: str, second: int,
                    second_day: str) -> None:
    assert [(p["points"], local_day(p["available_at"]))
            for p in world.last_body["balance"]["becoming_available"]] == [
        (first, day(first_day)), (second, day(second_day))]


@then(parsers.parse("{name}'s account tells her the same"))
def account_agrees(world: World, name: str) -> None:
    seen, receipt = world.member(name), world.last_body
    for told in ("becoming_available", "next_expiry", "expiring"):
        assert seen["points"][told] == receipt["balance"][told], (
            told, seen["points"], receipt["balance"])
    assert seen["tier_progress"] == receipt["tier_progress"]


@then(parsers.parse("the receipt tells {name} she needs to spend {amount} more within 12 months "
                    "to reach {tier}"))
def needs_within_a_year(world: World, name: str, amount: str, tier: str) -> None:
    [step] = world.last_body["tier_progress"]
    assert (step["metric"], step["next_tier"], step["needed"], step["by"]) == (
        "spend_365d", tier, amount, None)
    assert Decimal(step["now"]) + Decimal(amount) == Decimal(
        {"silver": 5000, "gold": 20000, "platinum": 50000}[tier])


@then(parsers.parse("the receipt tells {name} she needs to spend {amount} more to reach {tier} "
                    "before her review on {review}"))
def needs_before_review(world: World, name: str, amount: str, tier: str, review: str) -> None:
    [step] = world.last_body["tier_progress"]
    assert (step["next_tier"], step["needed"]) == (tier, amount)
    day_text, _, year = review.rpartition(" ")
    assert local_day(step["by"]) == day(day_text, int(year))
    tiers = world.client.get(f"/api/v1/members/{world.members[name]}/tiers",
                             headers=world.headers).get_json()
    assert tiers["review_at"] == step["by"]


@given(parsers.parse("the till gives {name} a pass for her phone"), target_fixture="phone")
def pass_for_phone(world: World, name: str, second_server: Flask) -> Phone:
    second_server.extensions["loyalty"].clock = lambda: world.now
    response = world.post(f"/api/v1/members/{world.members[name]}/tokens",
                          {"name": f"{name}'s phone"})
    assert response.status_code == 201, world.last_body
    return Phone(world.members[name], world.last_body["token"], world.last_body["token_id"],
                 [world.client, second_server.test_client()])


@then(parsers.parse("{name}'s phone shows her points, her history, her vouchers and her offers"))
def phone_reads_all(world: World, phone: Phone, name: str) -> None:
    member_id = world.members[name]
    me = phone.get("/me")
    assert me.status_code == 200 and me.get_json()["member_id"] == member_id
    assert me.get_json()["points"] == world.member(name)["points"]
    history = phone.get("/me/ledger").get_json()
    assert history["member_id"] == member_id and history["entries"]
    vouchers = phone.get("/me/vouchers").get_json()["vouchers"]
    assert [v["reward_id"] for v in vouchers] == [
        r["reward_id"] for r in world.member(name)["rewards"]]
    assert phone.get("/me/offers").get_json()["member_id"] == member_id


@given(parsers.parse("{name}'s phone shows her points on every server"))
def phone_on_every_server(phone: Phone, name: str) -> None:
    for server in range(len(phone.servers)):
        assert phone.get("/me", server).status_code == 200


@then(parsers.parse("{name}'s phone cannot read {other}'s account"))
def phone_cannot_read_other(world: World, phone: Phone, name: str, other: str) -> None:
    response = phone.get(f"/members/{world.members[other]}")
    assert response.get_json()["code"] == "forbidden"


@then(parsers.parse("{name}'s phone cannot read {other}'s account the way the till does"))
def phone_cannot_read_as_till(world: World, phone: Phone, name: str, other: str) -> None:
    phone_cannot_read_other(world, phone, name, other)


@then(parsers.parse("{name}'s phone cannot record a purchase"))
def phone_cannot_buy(world: World, phone: Phone, name: str) -> None:
    response = world.post_as("/api/v1/transactions", {
        "transaction_id": world.next_id("S12"), "type": "purchase",
        "member_id": world.members[name], "occurred_at": world.now.isoformat(),
        "lines": [FRIDGE]}, phone.headers)
    assert response.get_json()["code"] == "forbidden"
    assert world.member(name)["points"]["pending"] == 0


@when(parsers.parse("the service desk withdraws the pass of {name}'s phone"))
def withdraw(world: World, phone: Phone, auth: Auth, name: str) -> None:
    response = world.client.delete(
        f"/api/v1/members/{world.members[name]}/tokens/{phone.token_id}",
        headers=auth("adjust"))
    assert response.status_code == 200, response.get_json()


@then(parsers.parse("{name}'s phone is turned away at once on every server"))
def turned_away(phone: Phone, name: str) -> None:
    for server in range(len(phone.servers)):
        response = phone.get("/me", server)
        assert response.get_json()["code"] == "unauthorized", server


@then("the service desk sees the pass as withdrawn")
def seen_withdrawn(world: World, phone: Phone, auth: Auth) -> None:
    listed = world.client.get(f"/api/v1/members/{phone.member_id}/tokens",
                              headers=auth("adjust")).get_json()
    assert [(t["token_id"], t["status"]) for t in listed["tokens"]] == [
        (phone.token_id, "revoked")]
