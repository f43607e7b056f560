"""The measurements of `bench/backtest_bench.py`, each run in a fresh process of its own.

A job's peak resident memory is then its own, and a job that dies (a crash in native code,
the kernel's out-of-memory killer) is reported with its signal instead of taking the
benchmark down. Each job enables `faulthandler`, so a fatal signal prints the Python stack.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.backtest_history import load
from loyalty.app import build_context
from loyalty.config import Settings
from loyalty.domain.model import EvaluationInput, MemberStats
from loyalty.engine import build_rulebook, read_rule_dir
from loyalty.services.backtest import Backtest
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from loyalty.store.history import HistoryFilter, HistoryReader

ROOT = Path(__file__).resolve().parent.parent
MARKS = (25, 50, 75, 100)
KITCHEN_DOUBLE = """\
ruleset: kitchen-double
description: Double points on kitchen appliances
on: [purchase]
rules:
  - id: kitchen-double
    description: 1 extra point per 1 CNY on kitchen appliances
    priority: 35
    then:
      - award_points:
          per_currency_unit: 1
          on_lines: {fact: line.category, is: kitchen}
"""
Job = Callable[..., dict[str, Any]]


class JobFailed(RuntimeError):
    """A job raised, or its process died."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


def rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return -1.0


def peak_mb() -> float:
    """The most resident memory this process has used, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def draft_files() -> dict[str, str]:
    """The draft: the bundled rules and one more rule, double points on kitchen."""
    return {**read_rule_dir(ROOT / "rules"), "kitchen-double.yaml": KITCHEN_DOUBLE}


def context(url: str) -> ServiceContext:
    """The service's dependencies for the database at `url`, as a process of the app builds
    them."""
    return build_context(Settings.from_env(database_url=url, rules_dir=str(ROOT / "rules")))


def period(ctx: ServiceContext) -> tuple[datetime, datetime]:
    """The whole history: its first and last occurrence."""
    h = t.history.c
    with ctx.engine.connect() as conn:
        first, last = conn.execute(select(func.min(h.occurred_at),
                                          func.max(h.occurred_at))).one()
    return first, last


# Each job runs in a fresh process: its peak resident memory is its own.

def load_job(url: str, transactions: int, members: int, ledger: bool) -> dict[str, Any]:
    """Create the schema and load the history (`bench/backtest_history.py`)."""
    ctx = context(url)
    loaded = load(ctx.engine, transactions=transactions, members=members, ledger=ledger,
                  say=lambda line: print(line, flush=True))
    ctx.engine.dispose()
    return {**asdict(loaded), "occurrences": loaded.occurrences, "returns": loaded.returns,
            "transactions": loaded.transactions, "peak_mb": peak_mb()}


def stream_job(url: str, with_recorded: bool) -> dict[str, Any]:
    """Read the whole history, doing nothing with it."""
    ctx = context(url)
    began, cpu = time.perf_counter(), time.process_time()
    count = 0
    for _ in HistoryReader(ctx.engine, with_recorded=with_recorded).items():
        count += 1
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    ctx.engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "items": count, "peak_mb": peak_mb()}


def evaluate_job(url: str) -> dict[str, Any]:
    """One evaluation of the bundled rules per purchase, with the member as the replay enrols
    them and empty statistics; only the evaluations are timed, not the reading."""
    ctx = context(url)
    book = build_rulebook(read_rule_dir(ROOT / "rules"), "1")
    lowest = book.policy.tiers.lowest if book.policy.tiers else "member"
    stats = MemberStats()
    batch: list[EvaluationInput] = []
    evaluating = cpu = 0.0
    evaluations = decisions = 0
    began = time.perf_counter()

    def evaluate() -> None:
        nonlocal evaluating, cpu, evaluations, decisions
        start, cpu_start = time.perf_counter(), time.process_time()
        for data in batch:
            decisions += len(book.evaluate(data))
        evaluating += time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        evaluations += len(batch)
        batch.clear()

    for item in HistoryReader(ctx.engine).items():
        if item.kind != "purchase":
            continue
        member = replace(item.profile, tier=lowest, vip=False, lifecycle_stage="new")
        batch.append(EvaluationInput(item.occurrence, member, stats, item.occurred_at))
        if len(batch) >= 2000:
            evaluate()
    evaluate()
    wall = time.perf_counter() - began
    ctx.engine.dispose()
    return {"seconds": evaluating, "cpu": cpu, "wall": wall, "evaluations": evaluations,
            "decisions": decisions, "peak_mb": peak_mb()}


def backtest_job(url: str, shard_index: int, shard_count: int) -> dict[str, Any]:
    """The draft against version 1 over the whole history (one shard of it), timed."""
    ctx = context(url)
    which = HistoryFilter(shard_index=shard_index, shard_count=shard_count)
    start, end = period(ctx)
    total = HistoryReader(ctx.engine, which).count()
    files = draft_files()
    samples: dict[int, float] = {}
    seen = tenth = 0
    name = "backtest" if shard_count == 1 else f"shard {shard_index}/{shard_count}"

    def progress(count: int) -> None:
        nonlocal seen, tenth
        seen += count
        for mark in MARKS:
            if mark not in samples and seen * 100 >= mark * total:
                samples[mark] = rss_mb()
        while total >= 100_000 and seen * 10 >= (tenth + 1) * total and tenth < 10:
            tenth += 1
            print(f"    {name} {tenth * 10}%: {seen:,} occurrences in "
                  f"{time.perf_counter() - began:.0f} s, RSS {rss_mb():,.0f} MB", flush=True)

    before = rss_mb()
    began, cpu = time.perf_counter(), time.process_time()
    run = Backtest(ctx, files, start=start, end=end, against=1, which=which)
    ready = time.perf_counter()
    report = run.run(progress)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    ctx.engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "setup": ready - began, "occurrences_read": seen,
            "history": total, "rss_before": before, "samples": samples, "peak_mb": peak_mb(),
            "occurrences": report["occurrences"],
            "differing": report["differing_decisions"],
            "points_difference": report["points_difference"],
            "cost_difference": report["cost_difference"]}


def _child(conn: Connection, job: Job, args: tuple[Any, ...]) -> None:
    faulthandler.enable()
    try:
        conn.send(("ok", job(*args)))
    except BaseException as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


class Running:
    """A job started in a process of its own."""

    def __init__(self, job: Job, *args: Any) -> None:
        spawn = multiprocessing.get_context("spawn")
        self.began = time.perf_counter()
        self.conn, child = spawn.Pipe(duplex=False)
        self.process: BaseProcess = spawn.Process(target=_child, args=(child, job, args))
        self.process.start()
        child.close()

    def result(self) -> dict[str, Any]:
        """The job's figures; JobFailed when it raised or its process died."""
        try:
            status, value = self.conn.recv()
        except EOFError:
            status, value = "died", None
        self.process.join()
        seconds = time.perf_counter() - self.began
        if status == "ok":
            return dict(value)
        if status == "error":
            raise JobFailed(str(value), seconds)
        code = self.process.exitcode or 0
        how = (f"killed by {signal.Signals(-code).name}" if code < 0
               else f"exited with status {code}")
        raise JobFailed(f"its process was {how}", seconds)


def in_process(job: Job, *args: Any) -> dict[str, Any]:
    """Run `job` in a process of its own and wait for its figures."""
    return Running(job, *args).result()


def shards(url: str, count: int) -> tuple[float, list[dict[str, Any]]]:
    """`count` shards in `count` processes at once; the wall time includes starting them."""
    began = time.perf_counter()
    running = [Running(backtest_job, url, k, count) for k in range(1, count + 1)]
    results = [r.result() for r in running]
    return time.perf_counter() - began, results
