"""Steps about time passing: the daily sweep, points over time, win-back and birthdays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.store import tables as t
from tests.steps.programme_steps import World, ledger

MUG = {"sku": "MUG", "category": "homeware", "quantity": 1, "unit_price": "100.00"}


def run_sweep(world: World, as_of: datetime, admin: dict[str, str]) -> None:
    world.now = as_of
    response = world.client.post("/api/v1/sweeps", json={"as_of": as_of.isoformat()},
                                 headers=admin)
    assert response.status_code == 201, response.get_json()


@when(parsers.parse("the daily sweep runs {days:d} days later"))
def sweep_days_later(world: World, days: int, auth: Callable[[str], dict[str, str]]) -> None:
    origin: datetime = getattr(world, "origin", world.now)
    world.origin = origin  # type: ignore[attr-defined]
    run_sweep(world, origin + timedelta(days=days), auth("admin"))


@when(parsers.parse("the daily sweep runs every day for {days:d} days"))
def sweep_every_day(world: World, days: int, auth: Callable[[str], dict[str, str]]) -> None:
    origin: datetime = getattr(world, "origin", world.now)
    world.origin = origin  # type: ignore[attr-defined]
    for day in range(1, days + 1):
        run_sweep(world, origin + timedelta(days=day), auth("admin"))


def birthday_instant(day: str) -> datetime:
    parsed = datetime.strptime(f"{day} 2026", "%d %B %Y").date()
    return datetime.combine(parsed, time.min, UTC)


@when(parsers.parse("the daily sweep runs on {day} again"))
@when(parsers.parse("the daily sweep runs on {day}"))
def sweep_on(world: World, day: str, auth: Callable[[str], dict[str, str]]) -> None:
    run_sweep(world, birthday_instant(day), auth("admin"))


@given(parsers.parse("{days:d} days later {name} bought a mug for 100.00"))
def mug_later(world: World, days: int, name: str) -> None:
    origin: datetime = getattr(world, "origin", world.now)
    world.origin = origin  # type: ignore[attr-defined]
    world.now = origin + timedelta(days=days)
    world.purchase(name, [MUG])


@when(parsers.parse('{name} buys a mug for 100.00 showing the offer "{code}"'))
def mug_with_offer(world: World, name: str, code: str) -> None:
    world.purchase(name, [MUG], offer_codes=[code])


@then(parsers.parse("{name}'s ledger says the points were released because the return "
                    "window is over"))
def released_by_sweep(world: World, name: str) -> None:
    entries = ledger(world, name)
    waiting: Counter[int] = Counter()
    for e in entries:
        if e["kind"] == "earn" and e["source"]["id"] == world.purchase_id:
            waiting[e["lot_id"]] += e["points"]
    released = [e for e in entries if e["kind"] == "activate" and e["source"]["type"] == "sweep"]
    moves = sorted((e["lot_id"], e["bucket"], e["points"]) for e in released)
    assert moves == sorted([(lot, "pending", -points) for lot, points in waiting.items()]
                           + [(lot, "available", points) for lot, points in waiting.items()])
    assert {(e["rule_id"], e["reason"]) for e in released} == {
        ("points.pending_days", "the return window is over: points can be spent")}


@then(parsers.parse("{name} is told that {points:d} points expire next"))
def next_expiry(world: World, name: str, points: int) -> None:
    expiry = world.member(name)["points"]["next_expiry"]
    assert expiry is not None and expiry["points"] == points, expiry


def offers_held(world: World, name: str, code: str) -> list[dict[str, Any]]:
    return [o for o in world.member(name)["offers"] if o["offer_code"] == code]


@then(parsers.parse('{name} has received one win-back offer, "{code}"'))
def one_winback_offer(world: World, name: str, code: str) -> None:
    with world.ctx.uow(read_only=True) as uow:
        received = uow.connection.execute(select(t.offers.c.offer_code).where(
            t.offers.c.member_id == world.members[name],
            t.offers.c.offer_code.like("WINBACK%"))).scalars().all()
    assert received == [code], received


@then(parsers.parse('{name} holds the offer "{code}" just once'))
def holds_once(world: World, name: str, code: str) -> None:
    assert len(offers_held(world, name, code)) == 1


@then(parsers.parse('{name} holds the offer "{code}"'))
def holds(world: World, name: str, code: str) -> None:
    assert offers_held(world, name, code)


@then(parsers.parse('{name} no longer holds the offer "{code}"'))
def no_longer_holds(world: World, name: str, code: str) -> None:
    assert not offers_held(world, name, code)


@then(parsers.parse('the win-back report counts {count:d} member won back with "{code}" who '
                    'spent {spend}'))
def winback_report(world: World, count: int, code: str, spend: str,
                   auth: Callable[[str], dict[str, str]]) -> None:
    report = world.client.get("/api/v1/reports/winback", headers=auth("marketing")).get_json()
    row = next(o for o in report["offers"] if o["offer_code"] == code)
    assert (row["members_won_back"], row["spend_since_use"], row["used"]) == (count, spend, 1), row


def enrol_born(world: World, name: str, day: str) -> None:
    born = datetime.strptime(f"{day} 1990", "%d %B %Y").date()
    response = world.post("/api/v1/members", {
        "name": name, "email": f"{name.lower()}@example.com", "birth_date": born.isoformat(),
        "enrolled_at": (world.now - timedelta(days=400)).isoformat(),
    })
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@given(parsers.parse("{name} is a member born on {day}"))
def member_born(world: World, name: str, day: str) -> None:
    enrol_born(world, name, day)


@given(parsers.parse("{name} is a gold member born on {day}"))
def gold_member_born(world: World, name: str, day: str) -> None:
    enrol_born(world, name, day)
    world.purchase(name, [{"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1,
                           "unit_price": "20000.00"}])
    assert world.member(name)["tier"] == "gold"


@then(parsers.parse('{name} has received the reward "{reward_id}" just once'))
def reward_once(world: World, name: str, reward_id: str) -> None:
    with world.ctx.uow(read_only=True) as uow:
        received = uow.connection.execute(select(func.sum(t.member_rewards.c.quantity)).where(
            t.member_rewards.c.member_id == world.members[name],
            t.member_rewards.c.reward_id == reward_id)).scalar()
    assert received == 1


@given(parsers.parse("{name} is a gold member who joined on {day}"))
def gold_member_joined(world: World, name: str, day: str) -> None:
    joined = datetime.strptime(f"{day} 10:00", "%d %B %Y %H:%M").replace(tzinfo=UTC)
    response = world.post("/api/v1/members", {
        "name": name, "email": f"{name.lower()}@example.com", "enrolled_at": joined.isoformat(),
    })
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]
    world.purchase(name, [{"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1,
                           "unit_price": "20000.00"}])
    assert world.member(name)["tier"] == "gold"


@then(parsers.parse("{name}'s {occasion} brought {points:d} points"))
def occasion_points(world: World, name: str, occasion: str, points: int) -> None:
    earned = sum(e["points"] for e in ledger(world, name)
                 if e["kind"] == "earn" and e["source"]["id"].startswith(f"sweep:{occasion}"))
    assert earned == points




@then(parsers.parse('{name} holds the reward "{reward_id}"'))
def holds_reward(world: World, name: str, reward_id: str) -> None:
    assert reward_id in [r["reward_id"] for r in world.member(name)["rewards"]]


@when(parsers.parse("{name} comes back {days:d} days later and buys a mug for 100.00"))
def comes_back(world: World, name: str, days: int) -> None:
    origin: datetime = getattr(world, "origin", world.now)
    world.origin = origin  # type: ignore[attr-defined]
    world.now = origin + timedelta(days=days)
    world.purchase(name, [MUG])


@then(parsers.parse("the receipt welcomes {name} back"))
def welcomed_back(world: World, name: str) -> None:
    assert world.last_body["member_id"] == world.members[name], world.last_body
    assert "welcome-back" in [d["rule_id"] for d in world.last_body["decisions"]], world.last_body
    assert world.member(name)["lifecycle_stage"] == "growing"
