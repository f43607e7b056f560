"""Steps about who a member is and what a till may send, spoken through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.store import tables as t
from tests.steps.programme_steps import World

#: What a till is told to correct, in the words of the specs, and the field it names.
FIELDS = {"currency": "currency", "payments": "payments", "date": "occurred_at",
          "phone number": "phone"}


def _join(world: World, **contact: str) -> Any:
    world.tried = next(iter(contact))  # type: ignore[attr-defined]
    return world.post("/api/v1/members", {"name": "Someone", **contact})


@given(parsers.parse('{name} joined with the phone number "{phone}"'))
def joined_with_phone(world: World, name: str, phone: str) -> None:
    response = world.post("/api/v1/members", {"name": name, "phone": phone})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@given(parsers.parse('{name} joined with the e-mail address "{email}"'))
def joined_with_email(world: World, name: str, email: str) -> None:
    response = world.post("/api/v1/members", {"name": name, "email": email})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@when(parsers.parse('someone tries to join with the phone number "{phone}"'))
def join_with_phone(world: World, phone: str) -> None:
    _join(world, phone=phone)


@when(parsers.parse('someone tries to join with the e-mail address "{email}"'))
def join_with_email(world: World, email: str) -> None:
    _join(world, email=email)


@then(parsers.parse("they are told {name} is already a member"))
def told_member_exists(world: World, name: str) -> None:
    assert world.last.status_code == 409, world.last_body
    assert world.last_body["code"] == "member_exists"
    assert world.last_body["details"] == {"field": world.tried}  # type: ignore[attr-defined]
    with world.ctx.uow(read_only=True) as uow:
        enrolled = uow.connection.execute(select(t.members.c.member_id)).scalars().all()
    assert enrolled == [world.members[name]]  # nobody was enrolled beside them


def purchase_body(world: World, name: str, amount: str, **changes: Any) -> dict[str, Any]:
    return {
        "transaction_id": world.next_id("S12"), "type": "purchase",
        "member_id": world.members[name], "occurred_at": world.now.isoformat(),
        "store_id": "S12", "channel": "store", "currency": "CNY",
        "lines": [{"sku": "MUG-1", "category": "homeware", "quantity": 1, "unit_price": amount}],
        "payments": [{"method": "card", "amount": amount}], "offer_codes": [], **changes,
    }


@when(parsers.parse("the till sends {name}'s purchase of {amount} in US dollars"))
def purchase_in_dollars(world: World, name: str, amount: str) -> None:
    world.post("/api/v1/transactions", purchase_body(world, name, amount, currency="USD"))


@when(parsers.parse("the till sends {name}'s purchase of {amount} paid with {paid}"))
def purchase_underpaid(world: World, name: str, amount: str, paid: str) -> None:
    body = purchase_body(world, name, amount, payments=[{"method": "card", "amount": paid}])
    world.post("/api/v1/transactions", body)


@when(parsers.parse("the till sends {name}'s purchase of {amount} dated three days from now"))
def purchase_from_the_future(world: World, name: str, amount: str) -> None:
    ahead = (world.now + timedelta(days=3)).isoformat()
    world.post("/api/v1/transactions", purchase_body(world, name, amount, occurred_at=ahead))


@when(parsers.parse(
    "the till sends {name}'s return of the refrigerator dated the day before the purchase"))
def return_before_purchase(world: World, name: str) -> None:
    world.post("/api/v1/transactions", {
        "transaction_id": world.next_id("R12"), "type": "return",
        "member_id": world.members[name],
        "occurred_at": (world.now - timedelta(days=1)).isoformat(),
        "original_transaction_id": world.purchase_id,
        "lines": [{"sku": "FRIDGE-300", "quantity": 1}],
    })


TOLD = r"(?:the till is|they are) told the (?P<what>[a-z ]+?) (?:is|are) (?:wrong|not valid)"


@then(parsers.re(TOLD))
def told_to_correct(world: World, what: str) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["code"] == "validation_error"
    assert list(world.last_body["details"]["fields"]) == [FIELDS[what]], world.last_body
