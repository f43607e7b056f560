"""Referrals and transfers through the use cases on a real database: at the same moment (two
purchases of one friend, transfers both ways, a friend's purchase beside a transfer with the
referrer), in replay (explain and the backtest decide what was recorded), and in `verify`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from loyalty.domain.errors import InsufficientPoints, LoyaltyError
from loyalty.domain.transfers import Transfer
from loyalty.engine import read_rule_dir
from loyalty.services.audit import Actor
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.explain import explain_recorded
from loyalty.services.replay import MemoryState, replay
from loyalty.services.transfers import transfer
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.history import HistoryReader
from tests.conftest import RULES_DIR
from tests.integration.helpers import (
    T0,
    enrol,
    fingerprint,
    give_back,
    points,
    purchase,
    use_rules,
)
from tests.integration.test_adjustments import adjustment

TILL = Actor("till-7", "key")
KETTLE = ("KETTLE-1", "small-appliances", 1, "150.00")
REFERRAL_POINTS = 500


def give(ctx: ServiceContext, transfer_id: str, giver: str, receiver: str,
         points_: int) -> Any:
    cmd = Transfer(transfer_id=transfer_id, member_id=giver, to_member_id=receiver,
                   points=points_, reason="family pool",
                   fingerprint=fingerprint(t=transfer_id, g=giver, r=receiver, p=points_))
    return transfer(ctx, cmd, TILL)


def referral_points(ctx: ServiceContext, referrer: str) -> list[int]:
    e = t.ledger_entries.c
    with ctx.engine.connect() as conn:
        return [int(p) for p in conn.execute(select(e.points).where(
            e.member_id == referrer, e.kind == "earn", e.source_id.like("referral:%"))).scalars()]


def at_once(*work: Callable[[], Any]) -> list[str]:
    """Run each piece of work in its own thread, released together; what each ended with."""
    barrier = threading.Barrier(len(work))
    outcomes = [""] * len(work)

    def run(index: int) -> None:
        barrier.wait()
        try:
            work[index]()
            outcomes[index] = "done"
        except LoyaltyError as error:
            outcomes[index] = error.code
        except Exception as error:  # the test reports what went wrong
            outcomes[index] = repr(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


@pytest.fixture
def friends(ctx: ServiceContext) -> tuple[str, str]:
    """Ann, and Bo who joined on her recommendation (ids ordered so that Bo sorts first)."""
    ctx.clock = lambda: T0
    enrol(ctx, "M-ANN")
    enrol(ctx, "M-BO", referred_by="M-ANN")
    with ctx.engine.begin() as conn:  # Bo joined a week before T0: within the 90 days
        conn.execute(update(t.members).where(t.members.c.member_id == "M-BO")
                     .values(enrolled_at=T0 - timedelta(days=7)))
    return "M-ANN", "M-BO"


def test_two_purchases_of_the_friend_at_the_same_moment_reward_the_referrer_once(
        ctx: ServiceContext, friends: tuple[str, str]) -> None:
    referrer, friend = friends
    outcomes = at_once(*[
        (lambda n=n: purchase(ctx, f"T-{n}", [KETTLE], member_id=friend)) for n in range(8)])
    assert outcomes == ["done"] * 8
    assert referral_points(ctx, referrer) == [REFERRAL_POINTS]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.events).where(
            t.events.c.type == "referral_qualified")).scalar_one() == 1
    assert verify_ledger(ctx) == []


def test_transfers_both_ways_at_the_same_moment_neither_wait_forever_nor_lose_points(
        ctx: ServiceContext, friends: tuple[str, str]) -> None:
    ann, bo = friends
    program = read_rule_dir(RULES_DIR)["program.yaml"].replace("max_per_month: 2",
                                                               "max_per_month: 100")
    use_rules(ctx, program=program)
    adjustment(ctx, "ADJ-A", 2000, member_id=ann)
    adjustment(ctx, "ADJ-B", 2000, member_id=bo)
    before = points(ctx, ann)["available"] + points(ctx, bo)["available"]
    work = [(lambda n=n: give(ctx, f"TR-{n}", *((ann, bo) if n % 2 else (bo, ann)), 300))
            for n in range(12)]
    outcomes = at_once(*work)
    assert set(outcomes) <= {"done", InsufficientPoints.code}, outcomes
    assert outcomes.count("done") >= 6
    after = points(ctx, ann)["available"] + points(ctx, bo)["available"]
    assert after == before
    assert verify_ledger(ctx) == []


def test_a_friends_purchase_beside_a_transfer_with_the_referrer_both_happen(
        ctx: ServiceContext, friends: tuple[str, str]) -> None:
    """The purchase locks the friend, then the referrer; the transfer locks both in id order:
    whichever waits on the other is retried, and both are recorded."""
    ann, bo = friends
    adjustment(ctx, "ADJ-A", 2000, member_id=ann)
    outcomes = at_once(lambda: purchase(ctx, "T-1", [KETTLE], member_id=bo),
                       lambda: give(ctx, "TR-1", ann, bo, 1000))
    assert outcomes == ["done", "done"]
    assert referral_points(ctx, ann) == [REFERRAL_POINTS]
    assert points(ctx, bo)["available"] == 100 + 1000
    assert verify_ledger(ctx) == []


def test_a_replay_decides_the_referral_and_moves_the_transfer_as_recorded(
        ctx: ServiceContext, friends: tuple[str, str]) -> None:
    ann, bo = friends
    adjustment(ctx, "ADJ-A", 2000, member_id=ann)
    purchase(ctx, "T-1", [("KETTLE-1", "small-appliances", 1, "60.00")], member_id=bo)
    purchase(ctx, "T-2", [KETTLE], member_id=bo)
    give_back(ctx, "R-2", "T-2", [("KETTLE-1", 1)], member_id=bo)
    purchase(ctx, "T-3", [KETTLE], member_id=bo)
    give(ctx, "TR-1", ann, bo, 1500)
    give(ctx, "TR-2", bo, ann, 200)

    state = MemoryState()
    book = ctx.rules.current()
    steps = list(replay(HistoryReader(ctx.engine), lambda _: book, state))
    assert [s.refused for s in steps] == [None] * len(steps)
    assert [s.item.kind for s in steps if s.item.member_id == ann] == [
        "enrolment", "adjustment", "referral_qualified", "transfer_out", "transfer_in"]
    for member in (ann, bo):
        stored = points(ctx, member)
        account = state.members[member].account
        assert (account.available, account.pending, account.lifetime) == (
            stored["available"], stored["pending"], stored["lifetime_earned"])

    explained, item = explain_recorded(ctx, f"referral:{bo}")
    assert (item.member_id, item.kind) == (ann, "referral_qualified")
    assert [(d["rule_id"], d.get("points")) for d in explained["decisions"]] == [
        ("referral-bonus", REFERRAL_POINTS), ("referral-bonus", None)]
    bought, _ = explain_recorded(ctx, "T-2")  # the friend's purchase: the friend's points only
    assert {d["rule_id"] for d in bought["decisions"]} >= {"base-earn"}
    assert "referral-bonus" not in {d["rule_id"] for d in bought["decisions"]}

    report = backtest(ctx, read_rule_dir(RULES_DIR), start=T0 - timedelta(days=1),
                      end=T0 + timedelta(days=1))
    assert report["replay_check"]["differences"] == 0, report["replay_check"]
    assert report["differing_decisions"] == 0
    [row] = [r for r in report["per_rule"] if r["rule_id"] == "referral-bonus"]
    assert (row["draft_points"], row["against_points"]) == (REFERRAL_POINTS, REFERRAL_POINTS)


def test_verify_finds_a_transfer_that_drifted_from_its_entries(
        ctx: ServiceContext, friends: tuple[str, str]) -> None:
    ann, bo = friends
    adjustment(ctx, "ADJ-A", 2000, member_id=ann)
    give(ctx, "TR-1", ann, bo, 500)
    assert verify_ledger(ctx) == []
    with ctx.engine.begin() as conn:
        conn.execute(update(t.transfers).where(t.transfers.c.transfer_id == "TR-1")
                     .values(points=400))
    assert verify_ledger(ctx) == [
        f"transfer TR-1: 400 points but the transfer_out entries of member {ann} move -500",
        f"transfer TR-1: 400 points but the transfer_in entries of member {bo} move 500",
    ]
