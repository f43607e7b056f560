"""Steps of features/winback_holdout.feature: 200 lapsed members, the sweep that sets one in ten
aside, some of each group coming back, and the win-back report marketing reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when
from sqlalchemy import select

from loyalty.domain.experiments import in_control
from loyalty.services.sweep import run_sweep
from loyalty.store import tables as t
from tests.integration.helpers import T0, enrol, purchase
from tests.steps.programme_steps import World

RULE = "winback-lapsed"
MUG = ("MUG", "homeware", 1, "100.00")


@pytest.fixture
def lapsed() -> dict[str, list[str]]:
    """The members of the scenario, by group once the sweep has drawn them."""
    return {"all": []}


def at(world: World, days: int) -> None:
    """Move the service clock to `days` days after T0 (the day of the sweep)."""
    world.now = T0 + timedelta(days=days)


@given(parsers.parse("{count:d} members last bought something {days:d} days ago"))
def members_gone_quiet(world: World, lapsed: dict[str, list[str]], count: int,
                       days: int) -> None:
    at(world, 0)
    lapsed["all"] = [f"M-W{i:03d}" for i in range(count)]
    for member_id in lapsed["all"]:
        enrol(world.ctx, member_id)
        purchase(world.ctx, f"S-{member_id}", [MUG], member_id=member_id,
                 at=T0 - timedelta(days=days))


@when("the daily sweep finds them lapsed")
def sweep(world: World, lapsed: dict[str, list[str]]) -> None:
    at(world, 0)
    run_sweep(world.ctx, world.now)
    lapsed["control"] = [m for m in lapsed["all"] if in_control(RULE, m, 10)]
    lapsed["offer"] = [m for m in lapsed["all"] if m not in lapsed["control"]]


def winback_offers(world: World) -> set[str]:
    o = t.offers.c
    with world.ctx.uow(read_only=True) as uow:
        return set(uow.connection.execute(select(o.member_id).where(
            o.offer_code == "WINBACK-500")).scalars())


@then("about one member in ten is set aside and receives no win-back offer")
def one_in_ten_aside(world: World, lapsed: dict[str, list[str]]) -> None:
    share = len(lapsed["control"]) / len(lapsed["all"])
    assert 0.03 <= share <= 0.2, share
    assert not winback_offers(world) & set(lapsed["control"])


@then(parsers.parse('every other member receives the win-back offer "{code}"'))
def others_offered(world: World, lapsed: dict[str, list[str]], code: str) -> None:
    assert code == "WINBACK-500"
    assert winback_offers(world) == set(lapsed["offer"])


@when(parsers.parse("{count:d} members who received the offer come back {days:d} days later "
                    "with it for a mug at 100.00"))
def offer_group_returns(world: World, lapsed: dict[str, list[str]], count: int,
                        days: int) -> None:
    at(world, days)
    for member_id in lapsed["offer"][:count]:
        purchase(world.ctx, f"B-{member_id}", [MUG], member_id=member_id, at=world.now,
                 offer_codes=("WINBACK-500",))
    lapsed["offer_back"] = lapsed["offer"][:count]


@when(parsers.parse("{count:d} members who were set aside come back {days:d} days later for a "
                    "mug at 100.00"))
def control_group_returns(world: World, lapsed: dict[str, list[str]], count: int,
                          days: int) -> None:
    at(world, days)
    for member_id in lapsed["control"][:count]:
        purchase(world.ctx, f"B-{member_id}", [MUG], member_id=member_id, at=world.now)
    lapsed["control_back"] = lapsed["control"][:count]


@pytest.fixture
def report() -> dict[str, Any]:
    return {}


@when(parsers.parse("marketing reads the win-back report {days:d} days after the offer"))
def read_report(world: World, auth: Callable[[str], dict[str, str]], report: dict[str, Any],
                days: int) -> None:
    at(world, 90)
    instant = (T0 + timedelta(days=days)).isoformat().replace("+", "%2B")
    response = world.client.get(f"/api/v1/reports/winback?as_of={instant}",
                                headers=auth("marketing"))
    assert response.status_code == 200, response.get_json()
    [found] = [x for x in response.get_json()["experiments"] if x["rule_id"] == RULE]
    report.update(found)


@then("the report counts every member in their group, and who came back")
def counted(report: dict[str, Any], lapsed: dict[str, list[str]]) -> None:
    for group in ("offer", "control"):
        members, back = len(lapsed[group]), len(lapsed.get(f"{group}_back", []))
        assert report[group]["members"] == members, report
        assert report[group]["returned"] == back, report
        assert report[group]["return_rate"] == round(back / members, 4), report
        assert report[group]["spend"] == f"{100 * back}.00", report
    assert (report["percent"], report["within_days"]) == (10, 60)


@then("members who received the offer came back more often than those set aside, with a 95% "
      "interval around the difference")
def rate_uplift(report: dict[str, Any]) -> None:
    uplift = report["uplift"]
    expected = report["offer"]["return_rate"] - report["control"]["return_rate"]
    assert uplift["return_rate"] == pytest.approx(expected, abs=2e-4)
    assert uplift["return_rate"] > 0
    assert uplift["return_rate_low"] < uplift["return_rate"] < uplift["return_rate_high"]
    assert uplift["confidence"] == 0.95


@then("the offer group spent more per member than the members set aside, with a 95% interval "
      "around the difference")
def spend_uplift(report: dict[str, Any]) -> None:
    uplift = report["uplift"]
    low, mid, high = (float(uplift[f"spend_per_member{suffix}"])
                      for suffix in ("_low", "", "_high"))
    per_member = {g: float(report[g]["spend_per_member"]) for g in ("offer", "control")}
    assert mid == pytest.approx(per_member["offer"] - per_member["control"], abs=0.011)
    assert mid > 0
    assert low < mid < high


@then(parsers.parse("the offers used cost {points:d} points, worth {value}"))
def offer_cost(report: dict[str, Any], points: int, value: str) -> None:
    assert (report["offers_used"], report["cost_points"], report["cost"]) == (
        points // 500, points, value)


@then("no member is counted yet, and every one of them is waiting for their sixty days to end")
def none_counted(report: dict[str, Any], lapsed: dict[str, list[str]]) -> None:
    for group in ("offer", "control"):
        assert report[group]["members"] == 0
        assert report[group]["open"] == len(lapsed[group])
    assert report["uplift"]["return_rate"] is None
