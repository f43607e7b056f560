"""Steps of features/points_liability.feature: a small programme's history, dated against
`T0`, and the liability report marketing reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from loyalty.services.sweep import run_sweep
from tests.integration.helpers import T0, enrol, give_back, purchase, redeem
from tests.steps.programme_steps import World

MEMBERS = {"Ann": "M-ANN", "Bob": "M-BOB"}


def at(world: World, days_ago: int) -> None:
    """Move the service clock to `days_ago` days before T0."""
    world.now = T0 - timedelta(days=days_ago)
    world.ctx.clock = lambda: world.now


@pytest.fixture
def report() -> dict[str, Any]:
    return {}


@given("Ann and Bob joined 400 days ago, with their welcome points")
def joined(world: World) -> None:
    at(world, 30)  # enrolled with the date they joined, 400 days before T0
    for member_id in MEMBERS.values():
        enrol(world.ctx, member_id)


@given(parsers.parse("Ann bought a refrigerator for 3000.00 a month ago"))
def fridge(world: World) -> None:
    at(world, 30)
    purchase(world.ctx, "S-FRIDGE", [("FRIDGE", "kitchen", 1, "3000.00")],
             member_id=MEMBERS["Ann"], at=world.now)


@given("Ann spent 2000 points on a free check-up once her points could be spent")
def check_up(world: World) -> None:
    at(world, 10)
    run_sweep(world.ctx, world.now)
    redeem(world.ctx, "RD-1", "FREE-CHECKUP", member_id=MEMBERS["Ann"])


@given("Ann returned the refrigerator five days ago")
def returned(world: World) -> None:
    at(world, 5)
    give_back(world.ctx, "R-FRIDGE", "S-FRIDGE", [("FRIDGE", 1)], member_id=MEMBERS["Ann"],
              at=world.now)


@given(parsers.parse("the daily sweep ran {days:d} days ago"))
def swept(world: World, days: int) -> None:
    at(world, days)
    run_sweep(world.ctx, world.now)


@given("Bob bought a mug for 100.00 three days ago")
def mug(world: World) -> None:
    at(world, 0)
    purchase(world.ctx, "S-MUG", [("MUG", "homeware", 1, "100.00")], member_id=MEMBERS["Bob"],
             at=T0 - timedelta(days=3))


def read(world: World, auth: Callable[[str], dict[str, str]], report: dict[str, Any],
         query: str = "") -> None:
    at(world, 0)
    response = world.client.get(f"/api/v1/reports/liability{query}", headers=auth("marketing"))
    assert response.status_code == 200, response.get_json()
    report.update(response.get_json())


@when("marketing reads the points liability")
def read_now(world: World, auth: Callable[[str], dict[str, str]],
             report: dict[str, Any]) -> None:
    read(world, auth, report)


@when(parsers.parse("marketing reads the points liability as it stood {days:d} days ago"))
def read_then(world: World, auth: Callable[[str], dict[str, str]], report: dict[str, Any],
              days: int) -> None:
    instant = (T0 - timedelta(days=days)).isoformat().replace("+", "%2B")
    read(world, auth, report, f"?as_of={instant}")


@then(parsers.re(r"members (?P<verb>hold|have|owe) (?P<points>\d+) points"
                 r"(?: to spend| waiting)?, worth (?P<value>[\d.]+)"))
def outstanding(report: dict[str, Any], verb: str, points: str, value: str) -> None:
    bucket = {"hold": "available", "have": "pending", "owe": "debt"}[verb]
    assert report["outstanding"][bucket] == {"points": int(points), "value": value}, report


@then(parsers.parse("{points:d} points, worth {value}, expire within a year and none within "
                    "90 days"))
def expiring(report: dict[str, Any], points: int, value: str) -> None:
    windows = {w["within_days"]: (w["points"], w["value"]) for w in report["expiring"]}
    assert windows[365] == (points, value) and windows[90][0] == 0, report["expiring"]


@then(parsers.parse("{redeemed:d} of the {earned:d} points earned in the last year were "
                    "redeemed"))
def redemption(report: dict[str, Any], redeemed: int, earned: int) -> None:
    year = report["redemption"]["last_365_days"]
    assert (year["redeemed"], year["earned"]) == (redeemed, earned), year
    assert year["rate"] == round(redeemed / earned, 4)
