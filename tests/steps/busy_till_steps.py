"""Steps about many tills serving the same member at the same moment, spoken through the API
(in-process, one thread per till)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask
from pytest_bdd import parsers, then, when

from loyalty.services.verify import verify_ledger
from tests.steps.programme_steps import World

CINEMA_TICKETS = "CINEMA-PAIR"
TILLS = 20


@dataclass
class Rush:
    """What the tills were told when they all asked at once."""

    answers: list[tuple[int, dict[str, Any]]]
    stock_before: int


def cinema_stock(world: World) -> int:
    response = world.client.get("/api/v1/rewards", headers=world.headers)
    assert response.status_code == 200, response.get_json()
    reward = next(r for r in response.get_json()["rewards"] if r["reward_id"] == CINEMA_TICKETS)
    return int(reward["stock_remaining"])


@when(parsers.parse("twenty tills redeem a pair of cinema tickets for {name} at the same "
                    "moment"), target_fixture="rush")
def twenty_tills_redeem(world: World, app: Flask, name: str) -> Rush:
    stock = cinema_stock(world)
    url = f"/api/v1/members/{world.members[name]}/redemptions"
    ids = [world.next_id("RD") for _ in range(TILLS)]
    barrier = threading.Barrier(TILLS)
    answers: list[tuple[int, dict[str, Any]]] = []

    def till(redemption_id: str) -> None:
        client = app.test_client()
        barrier.wait(30)
        response = client.post(url, headers=world.headers, json={
            "redemption_id": redemption_id, "reward_id": CINEMA_TICKETS, "quantity": 1})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=till, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == TILLS, answers
    return Rush(answers, stock)


@then(parsers.parse("exactly one till hands {name} the cinema tickets"))
def one_till_hands_over(world: World, rush: Rush, name: str) -> None:
    won = [body for status, body in rush.answers if status == 201]
    assert len(won) == 1, rush.answers
    assert won[0]["member_id"] == world.members[name]
    held = [r["voucher_code"] for r in world.member(name)["rewards"]
            if r["reward_id"] == CINEMA_TICKETS]
    assert held == [won[0]["voucher_code"]]


@then(parsers.parse("the other nineteen tills are told {name} has too few points"))
def others_told_too_few(rush: Rush, name: str) -> None:
    refused = [(status, body["code"]) for status, body in rush.answers if status != 201]
    assert refused == [(422, "insufficient_points")] * (TILLS - 1), rush.answers


@then("one pair of cinema tickets fewer is left in stock")
def one_pair_fewer(world: World, rush: Rush) -> None:
    assert cinema_stock(world) == rush.stock_before - 1


@then("every balance equals the sum of its ledger entries")
def ledger_checks_out(world: World) -> None:
    assert verify_ledger(world.ctx) == []
