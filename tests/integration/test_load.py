"""The real service under gunicorn, pressed as a busy shop floor presses it and killed as an
operating system kills it: every write a till was told of is in the ledger exactly once, no
points are spent twice, and `loyalty ledger verify` finds every balance equal to its entries.

Each test has a bounded variant (the default run) and a long one (`pytest -m slow`). Tills run
in processes of their own (`tests/integration/tills.py`); what they were told is held against
the database by `tests/integration/till_audit.py`."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from loyalty.app import build_context
from loyalty.cli import main
from loyalty.config import Settings
from loyalty.services.keys import create_key
from loyalty.store import tables as t
from loyalty.store.db import make_engine
from tests.conftest import RULES_DIR, Reliability, on_postgres
from tests.integration.served import Service
from tests.integration.till_audit import audit, unexpected_answers, verdicts
from tests.integration.tills import ACKNOWLEDGED, UNANSWERED, TillLogs, TillPlan, TillProcesses

SCALES = [pytest.param("bounded"), pytest.param("long", marks=pytest.mark.slow)]
CINEMA_COST = 1500  # CINEMA-PAIR in rules/rewards.yaml: 1500 points, 200 in stock


@dataclass(frozen=True)
class Load:
    tills: int
    operations: int  # per till
    workers: int
    members: int


@dataclass(frozen=True)
class Programme:
    till_key: str
    members: tuple[str, ...]


def open_programme(service: Service, database_url: str, members: int,
                   points: int) -> Programme:
    """A till key and `members` members with `points` points each to spend at once."""
    ctx = build_context(Settings(database_url=database_url, rules_dir=str(RULES_DIR)))
    try:
        till = create_key(ctx, "pos", "till")[0]
        desk = create_key(ctx, "adjust", "desk")[0]
    finally:
        ctx.engine.dispose()
    enrolled = []
    with httpx.Client(base_url=service.base_url, timeout=60) as client:
        for n in range(members):
            member = client.post("/api/v1/members", json={"name": f"Busy customer {n}"},
                                 headers={"Authorization": f"Bearer {till}"})
            assert member.status_code == 201, member.text
            member_id = member.json()["member_id"]
            topup = client.post(f"/api/v1/members/{member_id}/adjustments",
                                headers={"Authorization": f"Bearer {desk}"},
                                json={"adjustment_id": f"TOPUP-{member_id}", "points": points,
                                      "reason": "points to spend in a busy hour"})
            assert topup.status_code == 201, topup.text
            assert topup.json()["balance"]["available"] == points, topup.text
            enrolled.append(member_id)
    return Programme(till, tuple(enrolled))


def plans(service: Service, programme: Programme, load: Load, logs: Path,
          retry_seconds: float = 0.0) -> list[TillPlan]:
    run = uuid.uuid4().hex[:8]
    shared_at = datetime.now(UTC).isoformat()
    return [TillPlan(till=n, base_url=service.base_url, key=programme.till_key,
                     members=programme.members, log=str(logs / f"till-{n}.jsonl"), seed=n,
                     operations=load.operations, run=run, shared_at=shared_at,
                     retry_seconds=retry_seconds) for n in range(load.tills)]


def verify_ledger(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """`loyalty ledger verify` on the database; its output, after asserting it passed."""
    monkeypatch.setenv("LOYALTY_DATABASE_URL", database_url)
    monkeypatch.setenv("LOYALTY_RULES_DIR", str(RULES_DIR))
    result = CliRunner().invoke(main, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    return result.output


def cinema_stock(database_url: str) -> tuple[int, int]:
    """Pairs of cinema tickets given out: by the stock counter, and by the members' rewards."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            counted = conn.execute(select(t.reward_counters.c.redeemed).where(
                t.reward_counters.c.reward_id == "CINEMA-PAIR")).scalar_one_or_none()
            held = conn.execute(select(func.coalesce(func.sum(t.member_rewards.c.quantity), 0))
                                .where(t.member_rewards.c.reward_id == "CINEMA-PAIR"))
            return int(counted or 0), int(held.scalar_one())
    finally:
        engine.dispose()


def report(name: str, logs: TillLogs, seconds: float, **extra: Any) -> None:
    figures = " ".join(f"{key}={value}" for key, value in extra.items())
    print(f"\n{name} on {'postgresql' if on_postgres() else 'sqlite'}: {logs.requests} "
          f"requests in {seconds:.1f} s ({logs.requests / seconds:.0f}/s) {figures}")


HOT = {"bounded": Load(tills=4, operations=40, workers=3, members=3),
       "long": Load(tills=8, operations=150, workers=4, members=3)}


@pytest.mark.parametrize("scale", SCALES)
def test_hot_members_under_load_lose_and_double_nothing(
    scale: str, database_url: str, tmp_path: Path, reliability: Reliability,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    load = HOT[scale]
    points = 150 * load.tills * load.operations // load.members  # about half the demand
    with Service(database_url, load.workers, tmp_path) as service:
        programme = open_programme(service, database_url, load.members, points)
        started = time.monotonic()
        with TillProcesses(plans(service, programme, load, tmp_path)) as tills:
            logs = tills.join(600)
        seconds = time.monotonic() - started
    found = audit(database_url, logs)
    reliability.record(operations=logs.requests, lost=len(found.lost),
                       doubled=len(found.doubled))
    seen = verdicts(logs)
    report("hot members", logs, seconds, acknowledged=found.acknowledged, **seen)

    assert unexpected_answers(logs) == []
    assert logs.with_verdict(UNANSWERED) == []
    assert found.problems() == {}
    shared = [row for row in logs.with_verdict(ACKNOWLEDGED) if row["key"].startswith("SHARED")]
    first_answers = {row["key"] for row in shared if not row["replayed"]}
    assert len(first_answers) == len({row["key"] for row in shared})  # one fresh answer per key
    assert sum(not row["replayed"] for row in shared) == len(first_answers)
    for kind in ("purchase acknowledged", "return acknowledged", "redemption acknowledged",
                 "redemption refused", "event acknowledged", "replay replayed",
                 "conflict conflict"):
        assert seen[kind] > 0, (kind, seen)
    cinema = sum(1 for row in logs.with_verdict(ACKNOWLEDGED)
                 if row["kind"] == "redemption" and row["body"]["reward_id"] == "CINEMA-PAIR")
    assert cinema_stock(database_url) == (cinema, cinema)
    verify_ledger(database_url, monkeypatch)


REDEMPTIONS = 20
DOUBLE_SPEND_ROUNDS = {"bounded": 1, "long": 10}


def redeem_at_once(service: Service, programme: Programme, member_id: str,
                   round_: int) -> list[httpx.Response]:
    """Twenty tills redeem the same member's points for cinema tickets at the same moment."""
    barrier = threading.Barrier(REDEMPTIONS)
    answers: list[httpx.Response] = []
    failures: list[BaseException] = []

    def till(number: int) -> None:
        try:
            with httpx.Client(base_url=service.base_url, timeout=60, headers={
                    "Authorization": f"Bearer {programme.till_key}"}) as client:
                client.get("/api/v1/rewards").raise_for_status()  # connected before the start
                barrier.wait(60)
                answers.append(client.post(f"/api/v1/members/{member_id}/redemptions", json={
                    "redemption_id": f"RD-{round_}-{number}", "reward_id": "CINEMA-PAIR",
                    "quantity": 1}))
        except BaseException as error:  # reported by the test
            failures.append(error)

    threads = [threading.Thread(target=till, args=(n,)) for n in range(REDEMPTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    return answers


@pytest.mark.parametrize("scale", SCALES)
def test_concurrent_redemptions_of_the_same_points_have_one_winner(
    scale: str, database_url: str, tmp_path: Path, reliability: Reliability,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds = DOUBLE_SPEND_ROUNDS[scale]
    answers: list[list[tuple[int, Any]]] = []
    members: list[dict[str, Any]] = []
    started = time.monotonic()
    with Service(database_url, 4, tmp_path) as service:
        programme = open_programme(service, database_url, rounds, CINEMA_COST)
        headers = {"Authorization": f"Bearer {programme.till_key}"}
        for round_, member_id in enumerate(programme.members):
            answers.append([(a.status_code, a.json()) for a in
                            redeem_at_once(service, programme, member_id, round_)])
            members.append(httpx.get(f"{service.base_url}/api/v1/members/{member_id}",
                                     headers=headers, timeout=60).json())
        catalogue = httpx.get(f"{service.base_url}/api/v1/rewards", headers=headers,
                              timeout=60).json()["rewards"]
    seconds = time.monotonic() - started
    winners = [body for got in answers for status, body in got if status == 201]
    counted, held = cinema_stock(database_url)
    reliability.record(operations=rounds * REDEMPTIONS, lost=max(0, len(winners) - held),
                       doubled=max(0, len(winners) - rounds) + max(0, held - len(winners)))
    print(f"\ndouble spend on {'postgresql' if on_postgres() else 'sqlite'}: "
          f"{rounds * REDEMPTIONS} redemptions in {seconds:.1f} s, {len(winners)} won")

    for got, member in zip(answers, members, strict=True):
        assert [status for status, _ in got].count(201) == 1, got
        refused = [(status, body["code"]) for status, body in got if status != 201]
        assert refused == [(422, "insufficient_points")] * (REDEMPTIONS - 1), refused
        assert member["points"]["available"] == 0, member["points"]
        assert [r["reward_id"] for r in member["rewards"]].count("CINEMA-PAIR") == 1
    cinema = next(r for r in catalogue if r["reward_id"] == "CINEMA-PAIR")
    assert cinema["stock_remaining"] == cinema["stock"] - rounds, cinema
    assert (counted, held) == (rounds, rounds)
    assert all(w["points_spent"] == CINEMA_COST for w in winners)
    verify_ledger(database_url, monkeypatch)


@dataclass(frozen=True)
class Crash:
    tills: int
    workers: int
    worker_kills: int  # times some workers are killed
    master_kills: int  # times the master and its workers are killed together


CRASHES = {"bounded": Crash(tills=3, workers=2, worker_kills=3, master_kills=2),
           "long": Crash(tills=8, workers=4, worker_kills=12, master_kills=6)}


@pytest.mark.parametrize("scale", SCALES)
def test_killed_workers_and_master_lose_no_acknowledged_write(
    scale: str, database_url: str, tmp_path: Path, reliability: Reliability,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crash = CRASHES[scale]
    rng = random.Random(11)
    load = Load(tills=crash.tills, operations=100_000, workers=crash.workers, members=3)
    faults = 0
    with Service(database_url, crash.workers, tmp_path) as service:
        programme = open_programme(service, database_url, load.members, 1_000_000)
        started = time.monotonic()
        till_plans = plans(service, programme, load, tmp_path, retry_seconds=180)
        with TillProcesses(till_plans, stop=True) as tills:
            _wait_for_acknowledged(tills, 10)
            for n in range(crash.worker_kills):
                time.sleep(rng.uniform(0.3, 1.2))
                faults += service.kill_workers(1 if n % 2 == 0 else crash.workers)
            for _ in range(crash.master_kills):
                time.sleep(rng.uniform(0.5, 1.5))
                faults += service.kill_everything()
                time.sleep(rng.uniform(0.1, 1.0))  # the tills find nobody there
                service.start()
            acknowledged = tills.acknowledged_so_far()
            _wait_for_acknowledged(tills, acknowledged + 10)  # traffic flows again
            logs = tills.join(300)
        seconds = time.monotonic() - started
    found = audit(database_url, logs)
    reliability.record(operations=logs.requests, faults=faults, lost=len(found.lost),
                       doubled=len(found.doubled))
    retried = logs.retried()
    answer_lost = [row for row in retried if row["replayed"] and row["kind"] != "replay"]
    report("kill -9", logs, seconds, kills=faults, starts=service.starts,
           retried=len(retried), recorded_but_answer_lost=len(answer_lost),
           acknowledged=found.acknowledged)

    assert unexpected_answers(logs) == []
    assert logs.with_verdict(UNANSWERED) == []
    assert found.problems() == {}
    assert retried, "no request was caught by a kill: the test proved nothing"
    verify_ledger(database_url, monkeypatch)


def _wait_for_acknowledged(tills: TillProcesses, count: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while tills.acknowledged_so_far() < count:
        assert time.monotonic() < deadline, f"fewer than {count} writes acknowledged"
        assert all(p.is_alive() for p in tills.processes), "a till stopped early"
        time.sleep(0.1)
