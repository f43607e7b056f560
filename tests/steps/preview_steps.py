"""Steps about looking ahead: previews of purchases dated ahead, and sweeps dated ahead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.store import tables as t
from tests.integration.helpers import use_rules
from tests.steps.programme_steps import World, ledger

Auth = Callable[[str], dict[str, str]]
MUG_AT = "MUG-1"
WEEKEND_RULE = "weekend-bonus"
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

WEEKEND = """
ruleset: weekend
description: This weekend's campaign.
on: [purchase]
rules:
  - id: weekend-bonus
    description: POINTS bonus points for shopping this weekend
    priority: 40
    campaign: weekend
    from: SATURDAY
    until: SUNDAY
    when:
      - {fact: event.weekday, in: [saturday, sunday]}
    then:
      - award_points: {points: POINTS}
"""


@dataclass
class Before:
    """What each member looked like before a sweep was attempted."""

    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledgers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@pytest.fixture
def before() -> Before:
    return Before()


def next_day(world: World, weekday: str) -> datetime:
    """The next such day after today (local time), at 11:00."""
    today = world.now.date()
    ahead = (WEEKDAYS.index(weekday.lower()) - today.weekday() - 1) % 7 + 1
    return datetime.combine(today + timedelta(days=ahead), time(11), world.now.tzinfo)


def moment(world: World, when: str) -> datetime:
    """`today`, `on Sunday` / `dated Sunday`, or `dated N days from now`."""
    words = when.split()
    if when == "today":
        return world.now
    if words[-1].endswith("day") and len(words) == 2:
        return next_day(world, words[-1])
    return world.now + timedelta(days=int(words[1]))


def mug(world: World, name: str, amount: str, at: datetime) -> dict[str, Any]:
    return {
        "transaction_id": world.next_id("S12"), "type": "purchase",
        "member_id": world.members[name], "occurred_at": at.isoformat(), "store_id": "S12",
        "channel": "store", "currency": "CNY",
        "lines": [{"sku": MUG_AT, "category": "homeware", "quantity": 1, "unit_price": amount}],
        "payments": [{"method": "card", "amount": amount}],
    }


@given(parsers.parse("marketing has scheduled {points:d} bonus points for shopping this weekend"))
def weekend_campaign(world: World, points: int) -> None:
    saturday = next_day(world, "saturday").date()
    rules = (WEEKEND.replace("POINTS", str(points))
             .replace("SATURDAY", saturday.isoformat())
             .replace("SUNDAY", (saturday + timedelta(days=1)).isoformat()))
    assert saturday > world.now.date()  # the campaign has not started yet
    use_rules(world.ctx, weekend=rules)


WHEN = r"(?P<when>today|on \w+day|dated \w+day|dated \d+ days from now)"


@when(parsers.re(r"the till previews (?P<name>\w+)'s purchase of a mug for (?P<amount>[\d.]+) "
                 + WHEN))
def preview_mug(world: World, name: str, amount: str, when: str) -> None:
    world.post("/api/v1/transactions?dry_run=true",
               mug(world, name, amount, moment(world, when)))


@when(parsers.re(r"the till sends (?P<name>\w+)'s purchase of a mug for (?P<amount>[\d.]+) "
                 + WHEN))
def send_mug(world: World, name: str, amount: str, when: str) -> None:
    world.post("/api/v1/transactions", mug(world, name, amount, moment(world, when)))


@then(parsers.parse("the preview shows {name} would earn {points:d} points"))
def preview_earns(world: World, name: str, points: int) -> None:
    assert world.last.status_code == 200, world.last_body
    assert world.last_body["member_id"] == world.members[name], world.last_body
    assert world.last_body["points"]["earned"] == points, world.last_body


@then("the preview shows the weekend bonus under the rules in force")
def preview_shows_bonus(world: World) -> None:
    decisions = world.last_body["decisions"]
    assert WEEKEND_RULE in [d["rule_id"] for d in decisions], decisions
    in_force = world.ctx.rules.current().version
    assert {d["ruleset_version"] for d in decisions} == {in_force}, decisions


@then(parsers.parse("the till is told a preview reaches at most {days:d} days ahead"))
def told_horizon(world: World, days: int) -> None:
    problems = world.last_body["details"]["fields"]["occurred_at"]
    assert [p for p in problems if f"{days} days ahead" in p], problems


def sweep(world: World, before: Before, admin: dict[str, str], as_of: datetime,
          **extra: Any) -> None:
    for name in world.members:
        before.members[name] = world.member(name)
        before.ledgers[name] = ledger(world, name)
    world.post_as("/api/v1/sweeps", {"as_of": as_of.isoformat(), **extra}, admin)


def day_of(text: str) -> datetime:
    return datetime.combine(datetime.strptime(text, "%d %B %Y").date(), time.min, UTC)


@when(parsers.parse("an administrator runs the sweep for {day} by mistake"))
def sweep_by_mistake(world: World, before: Before, auth: Auth, day: str) -> None:
    sweep(world, before, auth("admin"), day_of(day))


@when(parsers.parse("an administrator runs the sweep for {day} on purpose"))
def sweep_on_purpose(world: World, before: Before, auth: Auth, day: str) -> None:
    sweep(world, before, auth("admin"), day_of(day), allow_future=True)
    assert world.last.status_code == 201, world.last_body


@when("an administrator runs the sweep for an hour from now")
def sweep_soon(world: World, before: Before, auth: Auth) -> None:
    sweep(world, before, auth("admin"), world.now + timedelta(hours=1))


@then("the sweep has run")
def sweep_ran(world: World) -> None:
    assert world.last.status_code == 201, world.last_body
    assert world.last_body["phases"], world.last_body


@then(parsers.parse(
    "the administrator is told the sweep is {days:d} days ahead and nothing was swept"))
def told_sweep_ahead(world: World, days: int) -> None:
    assert world.last.status_code == 422, world.last_body
    assert list(world.last_body["details"]["fields"]) == ["as_of"], world.last_body
    assert f"is {days} days ahead of now" in world.last_body["message"], world.last_body
    with world.ctx.uow(read_only=True) as uow:
        runs = uow.connection.execute(select(func.count()).select_from(t.sweep_runs))
        assert runs.scalar_one() == 0


@then(parsers.parse("nothing has changed for {name}"))
def unchanged(world: World, before: Before, name: str) -> None:
    assert world.member(name) == before.members[name]
    assert ledger(world, name) == before.ledgers[name]


@then(parsers.parse("{name} is a {stage} member"))
def in_stage(world: World, name: str, stage: str) -> None:
    assert world.member(name)["lifecycle_stage"] == stage
