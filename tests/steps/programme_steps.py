"""Steps about members, purchases, returns, redemptions and tills, spoken through the API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.domain.ledger import ACTIVATION_RULE, CLAWBACK_RULE, EXPIRY_RULE, SHORTFALL_RULE
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t

CHINA = timezone(timedelta(hours=8))
POLICY_RULES = {ACTIVATION_RULE, CLAWBACK_RULE, EXPIRY_RULE, SHORTFALL_RULE}
FRIDGE = {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"}


def filters(quantity: int) -> dict[str, Any]:
    return {"sku": "FILTER-1", "category": "accessories", "quantity": quantity,
            "unit_price": "49.50"}


@dataclass
class World:
    """What a scenario has done so far."""

    client: FlaskClient
    ctx: ServiceContext
    headers: dict[str, str]
    now: datetime = datetime(2026, 11, 20, 14, 3, tzinfo=CHINA)
    members: dict[str, str] = field(default_factory=dict)
    sequence: int = 0
    last: Any = None
    last_body: dict[str, Any] = field(default_factory=dict)
    last_purchase: dict[str, Any] = field(default_factory=dict)
    purchase_id: str = ""
    balance_before: int = 0
    redeemed: tuple[str, int] = ("", 0)

    def next_id(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}-{self.sequence:05d}"

    def post(self, url: str, body: dict[str, Any]) -> Any:
        self.last = self.client.post(url, json=body, headers=self.headers)
        self.last_body = self.last.get_json()
        return self.last

    def post_as(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        self.last = self.client.post(url, json=body, headers=headers)
        self.last_body = self.last.get_json()
        return self.last

    def member(self, name: str, as_of: datetime | None = None) -> dict[str, Any]:
        query = f"?as_of={as_of.isoformat()}" if as_of else ""
        response = self.client.get(f"/api/v1/members/{self.members[name]}{query}",
                                   headers=self.headers)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def purchase(self, name: str, lines: list[dict[str, Any]], **extra: Any) -> Any:
        body = {"transaction_id": self.next_id("S12"), "type": "purchase",
                "member_id": self.members[name], "occurred_at": self.now.isoformat(),
                "store_id": "S12", "channel": "store", "currency": "CNY", "lines": lines,
                "payments": [], "offer_codes": [], **extra}
        self.last_purchase = body
        response = self.post("/api/v1/transactions", body)
        assert response.status_code == 201, self.last_body
        self.purchase_id = body["transaction_id"]
        return response

    def give_return(self, name: str, lines: list[dict[str, Any]],
                    original: str | None = None) -> Any:
        return self.post("/api/v1/transactions", {
            "transaction_id": self.next_id("R12"), "type": "return",
            "member_id": self.members[name], "occurred_at": self.now.isoformat(),
            "original_transaction_id": original or self.purchase_id, "lines": lines,
        })


@given("the standard programme rules are in force", target_fixture="world")
def standard_rules(client: FlaskClient, ctx: ServiceContext,
                   auth: Callable[[str], dict[str, str]], app: Flask) -> World:
    world = World(client=client, ctx=ctx, headers=auth("pos"))
    ctx.clock = lambda: world.now
    return world


@given(parsers.parse("{name} is a member with her {points:d} welcome points to spend"))
def enrol(world: World, name: str, points: int) -> None:
    response = world.post("/api/v1/members", {
        "name": name, "email": f"{name.lower()}@example.com",
        "enrolled_at": (world.now - timedelta(days=400)).isoformat(),
    })
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]
    assert world.member(name)["points"]["available"] == points


@given(parsers.parse("{name} bought a refrigerator for 3999.00 and two filters at 49.50 each"))
@when(parsers.parse("{name} buys a refrigerator for 3999.00 and two filters at 49.50 each"))
def buy_fridge_and_filters(world: World, name: str) -> None:
    world.purchase(name, [FRIDGE, filters(2)])


@when(parsers.parse("{name} buys a refrigerator for 3999.00"))
def buy_fridge(world: World, name: str) -> None:
    world.purchase(name, [FRIDGE])


@then(parsers.re(r"(?P<name>\w+) has (?P<points>\d+) points to spend"),
      converters={"points": int})
def has_exactly(world: World, name: str, points: int) -> None:
    assert world.member(name)["points"]["available"] == points


@given(parsers.parse("{name} has {points:d} points to spend"))
def has_points(world: World, name: str, points: int) -> None:
    topup = points - world.member(name)["points"]["available"]
    world.purchase(name, [{"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1,
                           "unit_price": f"{topup}.00"}])
    world.now += timedelta(days=60)
    assert world.member(name)["points"]["available"] == points


@given(parsers.parse("the return window has passed and {name} redeemed {points:d} points"))
def redeemed_points(world: World, name: str, points: int) -> None:
    world.now += timedelta(days=60)
    reward = cheapest_reward(world)
    assert points % reward["points_cost"] == 0
    response = world.post(f"/api/v1/members/{world.members[name]}/redemptions", {
        "redemption_id": world.next_id("RD"), "reward_id": reward["reward_id"],
        "quantity": points // reward["points_cost"]})
    assert response.status_code == 201, world.last_body


def cheapest_reward(world: World) -> dict[str, Any]:
    catalogue = world.client.get("/api/v1/rewards", headers=world.headers).get_json()["rewards"]
    costs = [r for r in catalogue if r["points_cost"] and r["stock"] is None]
    return min(costs, key=lambda r: r["points_cost"])


@then(parsers.parse("{name} earns {points:d} points"))
def earns(world: World, name: str, points: int) -> None:
    receipt = world.last_body
    assert receipt["member_id"] == world.members[name], receipt
    assert receipt["points"]["earned"] == points, receipt
    earned = [e["points"] for e in ledger(world, name)
              if e["kind"] == "earn" and e["source"]["id"] == receipt["transaction_id"]]
    assert sum(earned) == points, earned


@then(parsers.parse('the receipt explains the points with "{reason}"'))
def receipt_reason(world: World, reason: str) -> None:
    reasons = [d["reason"] for d in world.last_body["decisions"] if d.get("points")]
    assert reasons == [reason], reasons


@then(parsers.parse("{name} has {pending:d} points waiting and {available:d} points to spend"))
def balances(world: World, name: str, pending: int, available: int) -> None:
    points = world.member(name)["points"]
    assert (points["pending"], points["available"]) == (pending, available), points


@then(parsers.parse("after the return window {name} has {points:d} points to spend"))
def after_window(world: World, name: str, points: int) -> None:
    later = world.member(name, as_of=world.now + timedelta(days=60))["points"]
    assert (later["available"], later["pending"]) == (points, 0), later


@then(parsers.parse('{name} receives the reward "{reward_id}"'))
def receives_reward(world: World, name: str, reward_id: str) -> None:
    assert world.last_body["member_id"] == world.members[name], world.last_body
    given = [r for r in world.last_body["rewards"] if r["reward_id"] == reward_id]
    assert len(given) == 1, world.last_body["rewards"]
    held = [(r["reward_id"], r["voucher_code"]) for r in world.member(name)["rewards"]]
    assert (reward_id, given[0]["voucher_code"]) in held, held


@then(parsers.parse(
    "every entry in {name}'s ledger names its rule, its rules version and a reason"))
def ledger_explains(world: World, name: str) -> None:
    book = world.ctx.rules.current()
    reasons = {rule.id: rule.description for rule in book.rules}
    entries = ledger(world, name)
    assert entries
    for entry in entries:
        assert entry["ruleset_version"] == book.version, entry
        if entry["rule_id"] in POLICY_RULES:  # a movement program.yaml governs
            assert entry["reason"], entry
        else:
            assert entry["reason"] == reasons[entry["rule_id"]], entry


def ledger(world: World, name: str) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/members/{world.members[name]}/ledger?limit=200",
                                headers=world.headers)
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.get_json()["entries"]
    return entries


@when(parsers.parse("{name} returns one filter"))
def return_one_filter(world: World, name: str) -> None:
    assert world.give_return(name, [{"sku": "FILTER-1", "quantity": 1}]).status_code == 201


@when(parsers.parse("{name} returns the refrigerator and the other filter"))
def return_rest(world: World, name: str) -> None:
    response = world.give_return(name, [{"sku": "FRIDGE-300", "quantity": 1},
                                        {"sku": "FILTER-1", "quantity": 1}])
    assert response.status_code == 201, world.last_body


@when(parsers.parse("{name} returns the refrigerator"))
def return_fridge(world: World, name: str) -> None:
    response = world.give_return(name, [{"sku": "FRIDGE-300", "quantity": 1}])
    assert response.status_code == 201, world.last_body


@when(parsers.parse("{name} tries to return three filters"))
def return_too_many(world: World, name: str) -> None:
    world.give_return(name, [{"sku": "FILTER-1", "quantity": 3}])


@when(parsers.parse("{name} tries to return a purchase that never happened"))
def return_unknown(world: World, name: str) -> None:
    world.give_return(name, [{"sku": "FRIDGE-300", "quantity": 1}], original="NO-SUCH-SALE")


@then(parsers.parse("{points:d} points are taken back"))
def taken_back(world: World, points: int) -> None:
    assert world.last_body["points"]["clawed_back"] == points, world.last_body


@then("the till is told the return exceeds the purchase")
def told_exceeds(world: World) -> None:
    assert world.last.status_code == 422
    assert world.last_body["code"] == "return_exceeds_purchase"


@then("the till is told there is no such purchase")
def told_unknown(world: World) -> None:
    assert world.last.status_code == 422
    assert world.last_body["code"] == "unknown_transaction"


@then(parsers.parse("{name} owes {points:d} points"))
def owes(world: World, name: str, points: int) -> None:
    assert world.member(name)["points"]["debt"] == points


@when(parsers.parse('{name} redeems one "{reward_id}"'))
def redeem_one(world: World, name: str, reward_id: str) -> None:
    world.balance_before = world.member(name)["points"]["available"]
    world.redeemed = (reward_id, 1)
    world.post(f"/api/v1/members/{world.members[name]}/redemptions",
               {"redemption_id": world.next_id("RD"), "reward_id": reward_id, "quantity": 1})


@when(parsers.parse('{name} tries to redeem {quantity:d} "{reward_id}"'))
def redeem_many(world: World, name: str, quantity: int, reward_id: str) -> None:
    world.post(f"/api/v1/members/{world.members[name]}/redemptions",
               {"redemption_id": world.next_id("RD"), "reward_id": reward_id,
                "quantity": quantity})


@then(parsers.parse("{name} gets a voucher code"))
def voucher(world: World, name: str) -> None:
    assert world.last.status_code == 201, world.last_body
    code = world.last_body["voucher_code"]
    assert code
    assert code in [r["voucher_code"] for r in world.member(name)["rewards"]]


@then(parsers.parse("{name}'s points to spend go down by the reward's cost"))
def points_down(world: World, name: str) -> None:
    reward_id, quantity = world.redeemed
    reward = world.ctx.rules.current().policy.reward(reward_id)
    assert reward is not None and reward.points_cost, reward
    cost = reward.points_cost * quantity
    assert world.last_body["points_spent"] == cost, world.last_body
    assert world.member(name)["points"]["available"] == world.balance_before - cost


@then(parsers.parse("the till is told {name} has too few points"))
def told_too_few(world: World, name: str) -> None:
    assert world.last.status_code == 422
    assert world.last_body["code"] == "insufficient_points"


@when("the till sends that purchase again")
def resend(world: World) -> None:
    world.first_receipt = world.last_body  # type: ignore[attr-defined]
    world.post("/api/v1/transactions", world.last_purchase)


@then("the till gets the same receipt")
def same_receipt(world: World) -> None:
    assert world.last.status_code == 201
    assert world.last_body == world.first_receipt  # type: ignore[attr-defined]


@when(parsers.parse("the till sends the same purchase of {amount} twenty times at once"))
def resend_concurrently(world: World, app: Flask, amount: str) -> None:
    body = {"transaction_id": world.next_id("S12"), "type": "purchase",
            "member_id": world.members["Ann"], "occurred_at": world.now.isoformat(),
            "lines": [{"sku": "MUG", "category": "homeware", "quantity": 1,
                       "unit_price": amount}]}
    world.purchase_id = body["transaction_id"]
    statuses: list[int] = []
    bodies: list[Any] = []
    barrier = threading.Barrier(20)

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/transactions", json=body, headers=world.headers)
        statuses.append(response.status_code)
        bodies.append(response.get_json())

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 20, bodies
    assert all(b == bodies[0] for b in bodies)
    world.last_body = bodies[0]


@then(parsers.parse("{name}'s ledger shows that purchase once"))
def ledger_once(world: World, name: str) -> None:
    receipt = world.last_body
    assert receipt["transaction_id"] == world.purchase_id, receipt
    awards = sorted((d["rule_id"], d["points"]) for d in receipt["decisions"]
                    if d["effect"] == "award_points")
    assert sum(points for _, points in awards) == receipt["points"]["earned"], receipt
    earns = sorted((e["rule_id"], e["points"]) for e in ledger(world, name)
                   if e["source"]["id"] == world.purchase_id and e["kind"] == "earn")
    assert earns == awards  # one entry per award on the receipt: nothing doubled, nothing lost
    with world.ctx.uow(read_only=True) as uow:
        recorded = uow.connection.execute(select(func.count()).select_from(t.transactions).where(
            t.transactions.c.transaction_id == world.purchase_id)).scalar_one()
    assert recorded == 1


@when("another purchase arrives under the same receipt number")
def reuse_receipt(world: World) -> None:
    body = dict(world.last_purchase)
    body["lines"] = [filters(1)]
    world.post("/api/v1/transactions", body)


@then("the till is told the receipt number was already used")
def told_conflict(world: World) -> None:
    assert world.last.status_code == 409
    assert world.last_body["code"] == "idempotency_conflict"


@given("every ice maker has been given away")
def ice_makers_gone(world: World) -> None:
    reward = world.ctx.rules.current().policy.reward("ICE-MAKER")
    assert reward is not None and reward.stock is not None
    with world.ctx.uow() as uow:
        uow.programme.lock_reward_counter("ICE-MAKER")
        uow.programme.add_redeemed("ICE-MAKER", reward.stock)
        uow.commit()


@then("the receipt says the ice maker has run out")
def ice_maker_ran_out(world: World) -> None:
    assert not [r for r in world.last_body["rewards"] if r["reward_id"] == "ICE-MAKER"]
    gifts = [d["reason"] for d in world.last_body["decisions"] if d["effect"] == "grant_reward"]
    assert len(gifts) == 1 and gifts[0].endswith("not given: ICE-MAKER is out of stock"), gifts
