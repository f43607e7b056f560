"""Steps about folding a member who joined twice into one membership, spoken through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.services import audit
from loyalty.services.keys import create_key
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.steps.programme_steps import FRIDGE, World

CARD, APP = "Ann's card membership", "Ann's app membership"
KETTLES = {"sku": "KETTLE-1", "category": "kitchen", "quantity": 2, "unit_price": "150.00"}


@dataclass
class Admin:
    """An administrator with their own key, and what they saw before merging."""

    name: str
    headers: dict[str, str]
    before: dict[str, dict[str, Any]] = field(default_factory=dict)
    kettles_ready: datetime | None = None


def join(world: World, key: str, **profile: Any) -> None:
    response = world.post("/api/v1/members", {
        "enrolled_at": (world.now - timedelta(days=90)).isoformat(), **profile})
    assert response.status_code == 201, world.last_body
    world.members[key] = world.last_body["member_id"]


def buy(world: World, key: str, days_ago: float, *lines: dict[str, Any]) -> str:
    transaction_id = world.next_id("S12")
    response = world.post("/api/v1/transactions", {
        "transaction_id": transaction_id, "type": "purchase", "member_id": world.members[key],
        "occurred_at": (world.now - timedelta(days=days_ago)).isoformat(), "currency": "CNY",
        "lines": list(lines)})
    assert response.status_code == 201, world.last_body
    return transaction_id


@given(parsers.parse("Ann joined with a card and the phone {phone}"))
def joined_with_card(world: World, phone: str) -> None:
    join(world, CARD, name="Ann", phone=phone)


@given(parsers.parse("Ann joined again in the app with the phone {phone} and the e-mail "
                     "{email}"))
def joined_in_app(world: World, phone: str, email: str) -> None:
    join(world, APP, phone=phone, email=email, channel="app")


@given(parsers.parse("with her card Ann bought a refrigerator {days:d} days ago"))
def card_bought(world: World, days: int) -> None:
    buy(world, CARD, days, FRIDGE)


@given(parsers.parse("in the app Ann bought a refrigerator {days:d} days ago and two kettles "
                     "yesterday"))
def app_bought(world: World, days: int) -> None:
    buy(world, APP, days, FRIDGE)
    world.purchase_id = buy(world, APP, 1, KETTLES)


@given(parsers.parse("{name} is an administrator"), target_fixture="admin")
def administrator(world: World, name: str) -> Admin:
    secret = create_key(world.ctx, "admin", name)[0]
    return Admin(name, {"Authorization": f"Bearer {secret}"})


def kettle_lot(world: World, key: str) -> Any:
    c = t.point_lots.c
    with world.ctx.engine.connect() as conn:
        return conn.execute(select(t.point_lots).where(
            c.member_id == world.members[key], c.source_id == world.purchase_id,
            c.remaining > 0)).one()


@when(parsers.parse("{name} merges Ann's app membership into her card membership because "
                    '"{reason}"'))
def merges(world: World, admin: Admin, name: str, reason: str) -> None:
    assert admin.name == name
    admin.before = {key: world.member(key)["points"] for key in (CARD, APP)}
    admin.kettles_ready = kettle_lot(world, APP).pending_until
    response = world.post_as(f"/api/v1/members/{world.members[CARD]}/merge", {
        "merge_id": world.next_id("MRG"), "duplicate_id": world.members[APP],
        "reason": reason}, admin.headers)
    assert response.status_code == 201, world.last_body


@when("Ann returns one kettle bought in the app, at the till with her card")
def returns_kettle(world: World) -> None:
    response = world.give_return(CARD, [{"sku": "KETTLE-1", "quantity": 1}])
    assert response.status_code == 201, world.last_body


@then("Ann's card membership holds every point both memberships had, to spend and waiting")
def holds_every_point(world: World, admin: Admin) -> None:
    now = world.member(CARD)["points"]
    card, app = admin.before[CARD], admin.before[APP]
    for figure in ("available", "pending", "lifetime_earned"):
        assert now[figure] == card[figure] + app[figure], figure
    assert app["available"] > 0 and app["pending"] > 0


@then("Ann's app membership holds no points")
def holds_none(world: World) -> None:
    m = t.members.c
    with world.ctx.engine.connect() as conn:
        row = conn.execute(select(t.members).where(m.member_id == world.members[APP])).one()
    assert (row.points_available, row.points_pending, row.points_debt) == (0, 0, 0)


@then("every point in the ledger is accounted for")
def ledger_balances(world: World) -> None:
    assert verify_ledger(world.ctx) == []


@then(parsers.parse('the audit log shows {name} merged Ann\'s app membership because '
                    '"{reason}"'))
def audited(world: World, name: str, reason: str) -> None:
    [entry] = audit.read_log(world.ctx, actions=["member.merged"], actor=name)["entries"]
    assert (entry["subject"], entry["reason"]) == (world.members[CARD], reason)
    assert entry["details"]["duplicate_id"] == world.members[APP]


@then("the points for the kettles still wait on Ann's card membership")
def kettles_wait(world: World, admin: Admin) -> None:
    lot = kettle_lot(world, CARD)
    assert lot.state == "pending"
    assert lot.pending_until == admin.kettles_ready


@then("they can be spent from the day they could have been in the app")
def spendable_then(world: World, admin: Admin) -> None:
    assert admin.kettles_ready is not None
    kettles = kettle_lot(world, CARD).remaining
    just_before = world.member(CARD, as_of=admin.kettles_ready - timedelta(minutes=1))
    just_after = world.member(CARD, as_of=admin.kettles_ready)
    gained = just_after["points"]["available"] - just_before["points"]["available"]
    assert gained == kettles


@then("the points for one kettle are taken back from Ann's card membership")
def kettle_taken_back(world: World, admin: Admin) -> None:
    assert world.last_body["member_id"] == world.members[CARD]
    taken = world.last_body["points"]["clawed_back"]
    assert taken > 0
    before = admin.before[CARD]["pending"] + admin.before[APP]["pending"]
    assert world.member(CARD)["points"]["pending"] == before - taken


@then("looking up Ann's app membership leads to her card membership")
def leads_to_card(world: World) -> None:
    response = world.client.get(f"/api/v1/members/{world.members[APP]}",
                                headers=world.headers)
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/members/{world.members[CARD]}")
    assert response.get_json()["merged_into"] == world.members[CARD]


@then("a purchase for Ann's app membership is refused, pointing to her card membership")
def purchase_refused(world: World) -> None:
    response = world.post("/api/v1/transactions", {
        "transaction_id": world.next_id("S12"), "type": "purchase",
        "member_id": world.members[APP], "occurred_at": world.now.isoformat(),
        "lines": [FRIDGE]})
    assert response.status_code == 409
    assert world.last_body["code"] == "member_merged"
    assert world.last_body["details"]["merged_into"] == world.members[CARD]


@then(parsers.parse("the till finds Ann's card membership by the phone {phone}"))
def found_by_phone(world: World, phone: str) -> None:
    response = world.client.get("/api/v1/members", query_string={"phone": phone},
                                headers=world.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["member_id"] == world.members[CARD]


@then(parsers.parse("nobody can join again with the phone {phone}"))
def cannot_join(world: World, phone: str) -> None:
    response = world.post("/api/v1/members", {"phone": phone})
    assert response.status_code == 409
    assert world.last_body["code"] == "member_exists"


@then(parsers.parse("Ann's card membership now has the e-mail {email}"))
def has_email(world: World, email: str) -> None:
    assert world.member(CARD)["email"] == email
