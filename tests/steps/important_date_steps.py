"""Steps about the people who matter to a member and the days to remember them by."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.store import tables as t
from tests.steps.programme_steps import World
from tests.steps.sweep_steps import birthday_instant, run_sweep

#: What five other members each paid for their one purchase.
OTHERS = ("100.00", "200.00", "300.00", "400.00", "500.00")
BIG_BUYS = (("TV-55", "tv", "3999.00"), ("OVEN-60", "kitchen", "2999.00"),
            ("HOB-4", "kitchen", "2499.00"))


@pytest.fixture
def family() -> dict[str, str]:
    """The relatives recorded in a scenario: their id, by name."""
    return {}


def enrolled(world: World, name: str) -> str:
    if name not in world.members:
        response = world.post("/api/v1/members", {"name": name,
                                                  "email": f"{name.lower()}@example.com"})
        assert response.status_code == 201, world.last_body
        world.members[name] = world.last_body["member_id"]
    return world.members[name]


@given(parsers.parse("{name} is a member"))
def a_member(world: World, name: str) -> None:
    enrolled(world, name)


@given(parsers.parse("{name} bought a television, an oven and a hob this year, about 3000 "
                     "each time"))
def big_buyer(world: World, name: str) -> None:
    enrolled(world, name)
    for sku, category, price in BIG_BUYS:
        world.purchase(name, [{"sku": sku, "category": category, "quantity": 1,
                               "unit_price": price}])


@given("five other members each spent between 100 and 500 on one purchase")
def other_members(world: World) -> None:
    for n, price in enumerate(OTHERS, start=1):
        name = f"Other{n}"
        enrolled(world, name)
        world.purchase(name, [{"sku": "MUG-1", "category": "homeware", "quantity": 1,
                               "unit_price": price}])


@given(parsers.parse("{name}'s wife {relative} has her birthday on {day}"))
@when(parsers.parse("{name} tells the till that his wife {relative} has her birthday on {day}"))
def wife_birthday(world: World, family: dict[str, str], name: str, relative: str,
                  day: str) -> None:
    member_id = enrolled(world, name)
    relative_id = world.next_id("REL")
    response = world.post(f"/api/v1/members/{member_id}/relatives",
                          {"relative_id": relative_id, "relation": "spouse", "name": relative})
    assert response.status_code == 201, world.last_body
    family[relative] = relative_id
    born = datetime.strptime(day, "%d %B")
    response = world.post(f"/api/v1/members/{member_id}/dates", {
        "date_id": world.next_id("DATE"), "kind": "birthday", "relative_id": relative_id,
        "month": born.month, "day": born.day})
    assert response.status_code == 201, world.last_body


@when(parsers.parse("{name} asks us to forget {relative}"))
def forget_relative(world: World, family: dict[str, str], name: str, relative: str) -> None:
    response = world.client.delete(
        f"/api/v1/members/{world.members[name]}/relatives/{family[relative]}",
        headers=world.headers)
    assert response.status_code == 204


@given(parsers.parse("the daily sweep ran on {day}"))
@when(parsers.parse("no daily sweep runs until {day}"))
def sweep_ran(world: World, day: str, auth: Callable[[str], dict[str, str]]) -> None:
    run_sweep(world, birthday_instant(day), auth("admin"))


def reminders(world: World, name: str) -> list[dict[str, Any]]:
    e = t.events.c
    with world.ctx.uow(read_only=True) as uow:
        found = uow.connection.execute(select(e.attributes).where(
            e.member_id == world.members[name], e.type == "important_date")
            .order_by(e.occurred_at)).scalars().all()
    return [dict(attributes) for attributes in found]


def birthday_reminders(world: World, name: str, relative: str,
                       days: int) -> list[dict[str, Any]]:
    return [r for r in reminders(world, name)
            if (r["kind"], r["name"], r["days_ahead"]) == ("birthday", relative, days)]


@then(parsers.parse("{name} is reminded that {relative}'s birthday is in {days:d} days"))
def reminded(world: World, name: str, relative: str, days: int) -> None:
    assert len(birthday_reminders(world, name, relative, days)) == 1, reminders(world, name)


@then(parsers.parse("{name} is reminded once, that {relative}'s birthday is in {days:d} days"))
def reminded_once(world: World, name: str, relative: str, days: int) -> None:
    found = reminders(world, name)
    assert found == birthday_reminders(world, name, relative, days), found
    assert len(found) == 1, found


@then(parsers.parse("{name} is not reminded of any day"))
def not_reminded(world: World, name: str) -> None:
    assert reminders(world, name) == []


@then(parsers.parse("the gift ideas for {name} are {categories}, in the {band} range of what "
                    "members spend"))
def gift_ideas(world: World, name: str, categories: str, band: str) -> None:
    (reminder,) = reminders(world, name)
    assert reminder["suggested_categories"] == re.split(r", | and ", categories), reminder
    assert reminder["spend_band"] == band, reminder


def personal_calls(world: World, name: str) -> int:
    """How many gift reminders the member is to be called about (by phone)."""
    n = t.notifications.c
    with world.ctx.uow(read_only=True) as uow:
        channels = uow.connection.execute(select(n.channel).where(
            n.member_id == world.members[name], n.notification == "gift-reminder-call")
        ).scalars().all()
    assert set(channels) <= {"phone"}, channels
    return len(channels)


@then(parsers.parse("{name} gets a personal call about gift ideas"))
def called(world: World, name: str) -> None:
    assert personal_calls(world, name) == 1


@then(parsers.parse("{name} gets no personal call about gift ideas"))
def not_called(world: World, name: str) -> None:
    assert personal_calls(world, name) == 0


@then(parsers.parse('the call script for {name} reads "{text}"'))
def call_script(world: World, name: str, text: str) -> None:
    n = t.notifications.c
    with world.ctx.uow(read_only=True) as uow:
        messages = uow.connection.execute(select(n.message).where(
            n.member_id == world.members[name], n.notification == "gift-reminder-call")
        ).scalars().all()
    assert messages == [text], messages
