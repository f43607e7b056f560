"""Steps about messages to members: the gateways they are sent to, consent, and messages sent
again by an administrator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from loyalty.services.delivery import HttpSender, deliver
from tests.integration.receiver import Arrival, Receiver
from tests.steps.programme_steps import World

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def gateway() -> Iterator[Receiver]:
    """The SMS gateway: a real HTTP receiver on this machine."""
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture
def scheduler() -> Iterator[Receiver]:
    """The business's scheduling system, listening for the programme's own events."""
    found = Receiver()
    found.start()
    yield found
    found.stop()


def phone_of(name: str) -> str:
    return f"+86139{sum(map(ord, name)):08d}"


def send(world: World) -> None:
    deliver(world.ctx, HttpSender(), clock=lambda: world.now)


def texts_for(world: World, gateway: Receiver, name: str,
              kind: str | None = None) -> list[Arrival]:
    return [a for a in gateway.arrivals
            if a.body["member_id"] == world.members[name]
            and (kind is None or a.body["kind"] == kind)]


@given("the SMS gateway is connected for text messages")
def sms_gateway(world: World, gateway: Receiver, auth: Auth) -> None:
    added = world.client.post("/api/v1/webhooks", json={
        "url": gateway.url, "channels": ["sms"], "description": "SMS gateway"},
        headers=auth("admin"))
    assert added.status_code == 201, added.get_json()
    gateway.secret = added.get_json()["secret"]


@given(parsers.re(r"(?P<name>\w+), born on (?P<day>\d+ \w+), is a member who "
                  r"(?P<answer>agreed|did not agree) to text messages"))
def member_with_consent(world: World, name: str, day: str, answer: str) -> None:
    born = datetime.strptime(f"{day} 1990", "%d %B %Y").date()
    response = world.post("/api/v1/members", {
        "name": name, "phone": phone_of(name), "birth_date": born.isoformat(),
        "enrolled_at": (world.now - timedelta(days=400)).isoformat(),
        "consents": {"sms": answer == "agreed"}})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@given("the SMS gateway is down")
def gateway_down(gateway: Receiver) -> None:
    gateway.stop()


@when("the messages are sent")
def messages_sent(world: World) -> None:
    send(world)


@when("the SMS gateway is back an hour later")
def gateway_back(world: World, gateway: Receiver) -> None:
    world.now += timedelta(hours=1)
    gateway.start()


@when("the messages are tried for more than a day")
def tried_for_a_day(world: World) -> None:
    for _ in range(26):
        send(world)
        world.now += timedelta(hours=1)


@when("an administrator sends it again once the gateway is back")
def sent_again(world: World, gateway: Receiver, auth: Auth) -> None:
    gateway.start()
    notification_id = world.dead_letter  # type: ignore[attr-defined]
    response = world.client.post(f"/api/v1/notifications/{notification_id}/replay",
                                 headers=auth("admin"))
    assert response.status_code == 200, response.get_json()
    send(world)


@then(parsers.parse('the SMS gateway receives "{text}" for {name}'))
def receives_text(world: World, gateway: Receiver, text: str, name: str) -> None:
    received = [(a.body["message"], a.body["to"]["phone"])
                for a in texts_for(world, gateway, name)]
    assert received.count((text, phone_of(name))) == 1, received


@then("the SMS gateway can tell that every message came from the programme")
def all_signed(gateway: Receiver) -> None:
    assert gateway.arrivals and all(arrival.signed for arrival in gateway.arrivals)


@then(parsers.parse("the SMS gateway receives nothing for {name}"))
def receives_nothing(world: World, gateway: Receiver, name: str) -> None:
    assert texts_for(world, gateway, name) == []


def notifications_of(world: World, name: str, auth: Auth, **query: Any) -> list[dict[str, Any]]:
    response = world.client.get(f"/api/v1/members/{world.members[name]}/notifications",
                                query_string=query, headers=auth("marketing"))
    assert response.status_code == 200, response.get_json()
    found: list[dict[str, Any]] = response.get_json()["notifications"]
    return found


@then(parsers.parse("{name}'s birthday text is kept, marked as not sent for want of consent"))
def kept_suppressed(world: World, name: str, auth: Auth) -> None:
    greetings = notifications_of(world, name, auth, kind="birthday-greeting")
    assert {(n["channel"], n["status"]) for n in greetings} >= {("sms", "suppressed")}
    assert all(n["status"] != "delivered" for n in greetings)


@then(parsers.parse("the SMS gateway receives {name}'s gift message once"))
def gift_once(world: World, gateway: Receiver, name: str) -> None:
    gifts = texts_for(world, gateway, name, "gift-granted")
    assert len(gifts) == 1 and gifts[0].signed
    assert "Countertop ice maker" in gifts[0].body["message"]


@then(parsers.parse("{name}'s gift message is among the messages that could not be sent"))
def among_dead_letters(world: World, name: str, auth: Auth) -> None:
    dead = notifications_of(world, name, auth, status="dead", kind="gift-granted")
    assert [n["channel"] for n in dead] == ["sms"]
    world.dead_letter = dead[0]["notification_id"]  # type: ignore[attr-defined]


@given("the scheduling system is connected for the programme's own events")
def scheduling_system(world: World, scheduler: Receiver, auth: Auth) -> None:
    added = world.client.post("/api/v1/webhooks", json={
        "url": scheduler.url, "channels": ["system"],
        "kinds": ["vip_changed", "tier_changed", "privilege_granted", "privilege_revoked"]},
        headers=auth("admin"))
    assert added.status_code == 201, added.get_json()
    scheduler.secret = added.get_json()["secret"]


@then(parsers.parse("the scheduling system hears that {name} became a VIP"))
def hears_vip(world: World, scheduler: Receiver, name: str) -> None:
    changes = [a.body["payload"] for a in texts_for(world, scheduler, name, "vip_changed")]
    assert [change["vip"] for change in changes] == [True]
    assert all(arrival.signed for arrival in scheduler.arrivals)


@then(parsers.parse('the scheduling system hears that {name} was granted "{privilege}"'))
def hears_privilege(world: World, scheduler: Receiver, name: str, privilege: str) -> None:
    granted = [a.body["payload"]["privilege"]
               for a in texts_for(world, scheduler, name, "privilege_granted")]
    assert granted.count(privilege) == 1, granted
