"""Steps about vouchers: received, presented at the till, and taken back by a return, spoken
through the API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select

from loyalty.store import tables as t
from tests.steps.programme_steps import World

MUG = {"sku": "MUG-1", "category": "homeware", "quantity": 1, "unit_price": "20.00"}
#: The rewards the specs speak of, by the words they use.
REWARDS = {"apology voucher": "SORRY-VOUCHER", "ice maker": "ICE-MAKER"}
#: What a till is told about a voucher it cannot use, in the specs' words.
REASONS = {"was already used": "used", "belongs to another member": "other_member",
           "has expired": "expired", "was taken back": "revoked"}
REWARD = r"(?P<reward>apology voucher|ice maker)"


@pytest.fixture
def vouchers() -> dict[str, str]:
    """The voucher codes a scenario's members received, by '<name>'s <reward words>'."""
    return {}


def _code(world: World, vouchers: dict[str, str], name: str, reward: str) -> str:
    """The code of the voucher the member was given for `reward` (the one voucher of it)."""
    key = f"{name}'s {reward}"
    if key not in vouchers:
        r = t.member_rewards.c
        with world.ctx.uow(read_only=True) as uow:
            given = uow.connection.execute(select(r.voucher_code).where(
                r.member_id == world.members[name], r.reward_id == REWARDS[reward])).all()
        assert len(given) == 1, given
        vouchers[key] = given[0][0]
    return vouchers[key]


def _buy_mug(world: World, name: str, codes: list[str], later: timedelta = timedelta(0)) -> Any:
    body = {"transaction_id": world.next_id("S12"), "type": "purchase",
            "member_id": world.members[name], "occurred_at": (world.now + later).isoformat(),
            "lines": [MUG], "vouchers": codes}
    world.last_purchase = body
    return world.post("/api/v1/transactions", body)


def _recorded(world: World, transaction_id: str) -> int:
    with world.ctx.uow(read_only=True) as uow:
        return int(uow.connection.execute(select(func.count()).select_from(t.transactions).where(
            t.transactions.c.transaction_id == transaction_id)).scalar_one())


@given(parsers.parse("{name} is a member too"))
def another_member(world: World, name: str) -> None:
    response = world.post("/api/v1/members", {"name": name,
                                              "email": f"{name.lower()}@example.com"})
    assert response.status_code == 201, world.last_body
    world.members[name] = world.last_body["member_id"]


@given(parsers.parse("{name} received an apology voucher after an upheld complaint"))
def apology(world: World, vouchers: dict[str, str], name: str) -> None:
    response = world.post("/api/v1/events", {
        "event_id": world.next_id("E"), "type": "complaint", "member_id": world.members[name],
        "occurred_at": world.now.isoformat(), "attributes": {"outcome": "upheld"}})
    assert response.status_code == 201, world.last_body
    assert _code(world, vouchers, name, "apology voucher")


@given(parsers.re(rf"(?P<name>\w+) bought a mug presenting her {REWARD}$"))
@when(parsers.re(rf"(?P<name>\w+) buys a mug presenting her {REWARD}$"))
def buy_with_voucher(world: World, vouchers: dict[str, str], name: str, reward: str) -> None:
    response = _buy_mug(world, name, [_code(world, vouchers, name, reward)])
    assert response.status_code == 201, world.last_body


@given(parsers.parse("{name} collected her ice maker with a purchase"))
def collected_ice_maker(world: World, vouchers: dict[str, str], name: str) -> None:
    buy_with_voucher(world, vouchers, name, "ice maker")


@when(parsers.parse("{name} tries to buy another mug presenting the same voucher"))
def buy_again(world: World, vouchers: dict[str, str], name: str) -> None:
    _buy_mug(world, name, list(world.last_purchase["vouchers"]))


@when(parsers.re(rf"(?P<buyer>\w+) tries to buy a mug presenting (?P<owner>\w+)'s {REWARD}$"))
def buy_with_someone_elses(world: World, vouchers: dict[str, str], buyer: str, owner: str,
                           reward: str) -> None:
    _buy_mug(world, buyer, [_code(world, vouchers, owner, reward)])


@when(parsers.re(rf"(?P<name>\w+) tries to buy a mug presenting her {REWARD} "
                 r"(?P<days>\d+) days later$"), converters={"days": int})
def buy_too_late(world: World, vouchers: dict[str, str], name: str, reward: str,
                 days: int) -> None:
    code = _code(world, vouchers, name, reward)
    world.now += timedelta(days=days)
    _buy_mug(world, name, [code])


@when(parsers.re(rf"(?P<name>\w+) tries to buy a mug presenting her {REWARD}$"))
def buy_with_taken_back(world: World, vouchers: dict[str, str], name: str,
                        reward: str) -> None:
    _buy_mug(world, name, [_code(world, vouchers, name, reward)])


@when(parsers.re(rf"two tills present (?P<name>\w+)'s {REWARD} at the same moment$"))
def two_tills(world: World, vouchers: dict[str, str], app: Flask, name: str,
              reward: str) -> None:
    code = _code(world, vouchers, name, reward)
    bodies = [{"transaction_id": world.next_id("S12"), "type": "purchase",
               "member_id": world.members[name], "occurred_at": world.now.isoformat(),
               "lines": [MUG], "vouchers": [code]} for _ in range(2)]
    answers: list[tuple[str, int, dict[str, Any]]] = []
    barrier = threading.Barrier(2)

    def till(body: dict[str, Any]) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/api/v1/transactions", json=body, headers=world.headers)
        answers.append((body["transaction_id"], response.status_code, response.get_json()))

    threads = [threading.Thread(target=till, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    world.tills = answers  # type: ignore[attr-defined]


@then("exactly one of the purchases is recorded")
def one_recorded(world: World) -> None:
    answers = world.tills  # type: ignore[attr-defined]
    assert sorted(status for _, status, _ in answers) == [201, 422], answers
    assert [_recorded(world, tid) for tid, _, _ in answers] == [
        1 if status == 201 else 0 for _, status, _ in answers]
    (refused,) = [body for _, status, body in answers if status == 422]
    world.last_body = refused


@then(parsers.re(r"(?:the|the other) till is told the voucher (?P<reason>.+)$"))
def told_voucher(world: World, reason: str) -> None:
    body = world.last_body
    assert body.get("code") == "voucher_refused", body
    assert [v["reason"] for v in body["details"]["vouchers"]] == [REASONS[reason]], body


@then("that second purchase is not recorded")
def not_recorded(world: World) -> None:
    assert _recorded(world, world.last_purchase["transaction_id"]) == 0


@then(parsers.re(rf"the receipt shows the {REWARD} used$"))
def receipt_shows_used(world: World, vouchers: dict[str, str], reward: str) -> None:
    assert [(v["reward_id"], v["status"]) for v in world.last_body["vouchers"]] == [
        (REWARDS[reward], "used")], world.last_body


@then(parsers.re(rf"(?P<name>\w+) no longer holds the {REWARD}(?: voucher)?$"))
def no_longer_holds(world: World, name: str, reward: str) -> None:
    held = [r["reward_id"] for r in world.member(name)["rewards"]]
    assert REWARDS[reward] not in held, held


@then(parsers.re(rf"(?P<name>\w+) still holds the {REWARD}(?: voucher)?$"))
def still_holds(world: World, name: str, reward: str) -> None:
    held = [r["reward_id"] for r in world.member(name)["rewards"]]
    assert REWARDS[reward] in held, held


@then(parsers.re(rf"the receipt says the {REWARD} is taken back$"))
def receipt_takes_back(world: World, reward: str) -> None:
    assert [r["reward_id"] for r in world.last_body["rewards_taken_back"]] == [REWARDS[reward]]
    assert world.last_body["rewards_kept"] == []


@then("nothing but points is taken back")
def only_points(world: World) -> None:
    assert world.last.status_code == 201, world.last_body
    assert (world.last_body["rewards_taken_back"], world.last_body["rewards_kept"]) == ([], [])


@then(parsers.re(rf"the receipt says (?P<name>\w+) keeps the {REWARD} she already used$"))
def receipt_keeps(world: World, name: str, reward: str) -> None:
    assert world.last_body["member_id"] == world.members[name]
    assert [r["reward_id"] for r in world.last_body["rewards_kept"]] == [REWARDS[reward]]
    assert world.last_body["rewards_taken_back"] == []


@then(parsers.re(rf"the {REWARD} is back in stock$"))
def back_in_stock(world: World, reward: str) -> None:
    catalogue = world.client.get("/api/v1/rewards", headers=world.headers).get_json()["rewards"]
    (entry,) = [r for r in catalogue if r["reward_id"] == REWARDS[reward]]
    assert entry["stock_remaining"] == entry["stock"], entry


@then(parsers.re(rf"the report of rewards after returns lists (?P<name>\w+)'s {REWARD} "
                 r"as kept$"))
def reported_kept(world: World, auth: Callable[[str], dict[str, str]], name: str,
                  reward: str) -> None:
    response = world.client.get("/api/v1/reports/returned-rewards", headers=auth("marketing"))
    assert response.status_code == 200, response.get_json()
    listed = [(r["member_id"], r["reward_id"], r["outcome"])
              for r in response.get_json()["rewards"]]
    assert listed == [(world.members[name], REWARDS[reward], "kept")], listed
