"""Steps of features/value_pyramid.feature: a small programme's purchases, valuations and
monthly sweeps, and the pyramid, value matrix and lifecycle flow marketing reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when
from sqlalchemy import update

from loyalty.services.sweep import run_sweep
from loyalty.services.sweep.snapshots import SnapshotPhase
from loyalty.store import tables as t
from tests.integration.helpers import T0, enrol, give_back, purchase
from tests.steps.programme_steps import World

Auth = Callable[[str], dict[str, str]]
NAMES = {"Ann": "M-ANN", "Bob": "M-BOB", "Cai": "M-CAI"}
OTHERS = [f"M-{n:02d}" for n in range(1, 8)]
MONTHS = {name: number for number, name in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"), start=1)}
YEAR = T0.year


def at(world: World, when: datetime) -> None:
    world.now = when
    world.ctx.clock = lambda: world.now


def first_of(month: str) -> datetime:
    return datetime(YEAR, MONTHS[month], 1, tzinfo=UTC)


def buy(world: World, name: str, sku: str, amount: str, days_ago: int) -> str:
    at(world, T0)
    tx_id = world.next_id("S")
    purchase(world.ctx, tx_id, [(sku, "goods", 1, amount)], member_id=NAMES.get(name, name),
             at=T0 - timedelta(days=days_ago))
    return tx_id


@pytest.fixture
def report() -> dict[str, Any]:
    return {}


# -- the pyramid -------------------------------------------------------------------------------


@given("ten members who joined over a year ago")
def ten_members(world: World) -> None:
    at(world, T0)
    for member_id in [*NAMES.values(), *OTHERS]:
        enrol(world.ctx, member_id)


@given(parsers.parse("Ann bought furniture for 60000.00 and returned chairs worth 8000.00"))
def furniture(world: World) -> None:
    at(world, T0)
    purchase(world.ctx, "S-FURNITURE", [("SOFA", "furniture", 1, "52000.00"),
                                        ("CHAIRS", "furniture", 1, "8000.00")],
             member_id=NAMES["Ann"], at=T0 - timedelta(days=100))
    give_back(world.ctx, "R-CHAIRS", "S-FURNITURE", [("CHAIRS", 1)], member_id=NAMES["Ann"],
              at=T0 - timedelta(days=5))


@given(parsers.parse("Bob bought a television for {amount} more than a year ago"))
def old_purchase(world: World, amount: str) -> None:
    buy(world, "Bob", "TV", amount, days_ago=380)


@given(parsers.re(r"(?P<name>\w+) bought a (?P<thing>\w+) for (?P<amount>[\d.]+)"))
def bought(world: World, name: str, thing: str, amount: str) -> None:
    buy(world, name, thing.upper(), amount, days_ago=20)


@given(parsers.parse("each of the seven other members bought a lamp for {amount}"))
def lamps(world: World, amount: str) -> None:
    for member_id in OTHERS:
        buy(world, member_id, "LAMP", amount, days_ago=10)


def read(world: World, auth: Auth, report: dict[str, Any], name: str) -> None:
    at(world, T0)
    response = world.client.get(f"/api/v1/reports/{name}", headers=auth("marketing"))
    assert response.status_code == 200, response.get_json()
    report.update(response.get_json())


@when("marketing reads the value pyramid")
def read_pyramid(world: World, auth: Auth, report: dict[str, Any]) -> None:
    read(world, auth, report, "pyramid")


@then(parsers.parse("the members brought {amount} over the last year"))
def revenue(report: dict[str, Any], amount: str) -> None:
    assert (report["revenue"], report["window_days"]) == (amount, 365), report


@then(parsers.parse("the top fifth of the members, {members:d} of them, brought {amount}, "
                    "{percent}% of it"))
def top_fifth(report: dict[str, Any], members: int, amount: str, percent: str) -> None:
    assert report["top_fifth"] == {"members": members, "revenue": amount,
                                   "share_of_revenue": round(float(percent) / 100, 4)}
    assert report["top_fifth"]["share_of_revenue"] > 0.5  # most of it


@then(parsers.parse("the top 1% brought {top} and the bottom half {bottom}"))
def bands(report: dict[str, Any], top: str, bottom: str) -> None:
    by_band = {row["band"]: row["revenue"] for row in report["value_bands"]}
    assert (by_band["top 1%"], by_band["bottom 50%"]) == (top, bottom), report["value_bands"]


@then(parsers.re(r"the (?P<tier>\w+) members, (?P<members>\d+) of them, brought "
                 r"(?P<amount>[\d.]+)"), converters={"members": int})
def tier_revenue(report: dict[str, Any], tier: str, members: int, amount: str) -> None:
    row = next(row for row in report["tiers"] if row["tier"] == tier)
    assert (row["members"], row["revenue"]) == (members, amount), report["tiers"]


@then(parsers.parse("the members of the lowest tier, {members:d} of them, brought {amount}"))
def lowest_tier(report: dict[str, Any], members: int, amount: str) -> None:
    row = report["tiers"][-1]
    assert (row["members"], row["revenue"]) == (members, amount), report["tiers"]


# -- the value matrix --------------------------------------------------------------------------


@given("Ann, Bob and Cai are members")
def three_members(world: World) -> None:
    at(world, T0)
    for member_id in NAMES.values():
        enrol(world.ctx, member_id)


def valued(world: World, segments: dict[str, str | None], month: str) -> None:
    """The members' valuation that month, as the sweep's valuation left it, and the month's
    snapshot."""
    m = t.members.c
    with world.ctx.uow() as uow:
        for name, segment in segments.items():
            uow.connection.execute(update(t.members).where(m.member_id == NAMES[name])
                                   .values(value_segment=segment))
        uow.commit()
    at(world, first_of(month) + timedelta(hours=2))
    run_sweep(world.ctx, world.now, phases=[SnapshotPhase()])


@given(parsers.parse("in {month} Ann was valued in {ann}, Bob in {bob}, and Cai not yet"))
def valued_without_cai(world: World, month: str, ann: str, bob: str) -> None:
    valued(world, {"Ann": ann, "Bob": bob, "Cai": None}, month)


@given(parsers.parse("in {month} Ann was valued in {ann}, Bob in {bob}, and Cai in {cai}"))
def valued_all(world: World, month: str, ann: str, bob: str, cai: str) -> None:
    valued(world, {"Ann": ann, "Bob": bob, "Cai": cai}, month)


@when("marketing reads the value matrix")
def read_matrix(world: World, auth: Auth, report: dict[str, Any]) -> None:
    read(world, auth, report, "value-matrix")


def month_of(report: dict[str, Any], month: str) -> dict[str, Any]:
    label = f"{YEAR}-{MONTHS[month]:02d}"
    return next(row for row in report["months"] if row["month"] == label)


@then(parsers.parse("from {before} to {month} {members:d} member moved from {old} to {new}"))
def moved(report: dict[str, Any], before: str, month: str, members: int, old: str,
          new: str) -> None:
    row = month_of(report, month)
    moves = row.get("moves", row.get("flows"))
    assert {"from": old, "to": new, "members": members} in moves, moves


@then(parsers.parse("from {before} to {month} {members:d} member was valued for the first "
                    "time, in {segment}"))
def first_valued(report: dict[str, Any], before: str, month: str, members: int,
                 segment: str) -> None:
    moves = month_of(report, month)["moves"]
    assert {"from": None, "to": segment, "members": members} in moves, moves


@then(parsers.parse("in {month} {a}, {b} and {c} had 1 member each, and {d} none"))
def counts(report: dict[str, Any], month: str, a: str, b: str, c: str, d: str) -> None:
    assert month_of(report, month)["counts"] == {a: 1, b: 1, c: 1, d: 0}


# -- the lifecycle flow ------------------------------------------------------------------------


@given(parsers.parse("{name} joined over a year ago and last bought on {dom:d} {month}"))
def last_bought(world: World, name: str, dom: int, month: str) -> None:
    when_bought = datetime(YEAR, MONTHS[month], dom, 12, tzinfo=UTC)
    at(world, when_bought)
    enrol(world.ctx, NAMES[name])
    purchase(world.ctx, world.next_id("S"), [("LAMP", "homeware", 1, "1000.00")],
             member_id=NAMES[name], at=when_bought)


@when(parsers.parse("the daily sweep runs on the first day of each month from {first} to "
                    "{last}"))
def monthly_sweeps(world: World, first: str, last: str) -> None:
    for number in range(MONTHS[first], MONTHS[last] + 1):
        at(world, datetime(YEAR, number, 1, tzinfo=UTC))
        run_sweep(world.ctx, world.now)


@when("marketing reads the lifecycle flow")
def read_lifecycle(world: World, auth: Auth, report: dict[str, Any]) -> None:
    read(world, auth, report, "lifecycle")


@then(parsers.parse("from {before} to {month} {members:d} member moved into {stage}"))
def moved_into(report: dict[str, Any], before: str, month: str, members: int,
               stage: str) -> None:
    flows = month_of(report, month)["flows"]
    assert sum(f["members"] for f in flows if f["to"] == stage and f["from"] != stage) \
        == members, flows


@then(parsers.parse("from {before} to {month} {a:d} member stayed {one} and {b:d} member "
                    "stayed {other}"))
def stayed(report: dict[str, Any], before: str, month: str, a: int, one: str, b: int,
           other: str) -> None:
    flows = month_of(report, month)["flows"]
    assert {"from": one, "to": one, "members": a} in flows, flows
    assert {"from": other, "to": other, "members": b} in flows, flows


@then(parsers.parse("in {month} {members:d} members were {stage}"))
def in_stage(report: dict[str, Any], month: str, members: int, stage: str) -> None:
    assert month_of(report, month)["stages"][stage] == members
