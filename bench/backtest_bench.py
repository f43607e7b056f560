"""Backtest benchmark: a draft replayed over a large recorded history (not a test).

Loads a history of N transactions (default 1,000,000: purchases, partial and full returns,
events and the members' enrolments, over about two years; `bench/backtest_history.py`) into
SQLite (a file under /tmp) and PostgreSQL (database `bench_backtest`), then times a backtest of
a draft (the bundled rules plus double points on kitchen) against stored version 1 over the
whole history: wall time, occurrences per second, peak resident memory and resident memory at
25/50/75/100% of the run. Beside it, in the same run, two baselines: streaming the history
alone (as a backtest against a stored version reads it, and with the recorded points a
backtest against the versions in force also reads), and one evaluation of the bundled rules
per purchase; and P shards run side by side in P processes. Each measurement runs in a fresh
process (`bench/backtest_jobs.py`). CPU seconds are printed beside wall seconds: on a shared
machine they move less. The load is timed apart and is not part of any figure.

    python bench/backtest_bench.py                                  # 1,000,000, both databases
    python bench/backtest_bench.py --db sqlite --transactions 20000
    python bench/backtest_bench.py --db postgres --transactions 200000 --parallel 2 --keep
    python bench/backtest_bench.py --db postgres --transactions 200000 --reuse  # kept history
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.backtest_jobs import (  # noqa: E402
    MARKS,
    JobFailed,
    backtest_job,
    context,
    evaluate_job,
    in_process,
    load_job,
    shards,
    stream_job,
)
from loyalty.store import tables as t  # noqa: E402

SQLITE_FILE = Path("/tmp/backtest_bench.db")
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_NAME = "bench_backtest"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_NAME}"
TARGET_SECONDS = 180.0
TARGET_TRANSACTIONS = 1_000_000


# The databases

def prepare_sqlite(fresh: bool) -> str:
    if fresh:
        for suffix in ("", "-wal", "-shm", ".writers", ".checkpointer"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{SQLITE_FILE}"


def prepare_postgres(fresh: bool) -> str | None:
    """The benchmark's database, created when absent (emptied when `fresh`); None when the
    server cannot be reached."""
    try:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (PG_NAME,)).fetchone()
            if exists and fresh:
                conn.execute(f"DROP DATABASE {PG_NAME} WITH (FORCE)")
            if not exists or fresh:
                conn.execute(f"CREATE DATABASE {PG_NAME}")
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        print(f"PostgreSQL at 127.0.0.1:5432 is unreachable ({reason}): skipped")
        return None
    return PG_URL


def drop(db: str) -> None:
    if db == "sqlite":
        prepare_sqlite(fresh=True)
        return
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")


def loaded_already(url: str, transactions: int, members: int) -> dict[str, Any] | None:
    """What a kept database holds, when it is the history asked for."""
    ctx = context(url)
    tx, ev = t.transactions.c, t.events.c
    try:
        with ctx.engine.connect() as conn:
            by_type = select(tx.type, func.count()).group_by(tx.type)
            counts: dict[str, int] = {kind: n for kind, n in conn.execute(by_type)}
            events = conn.execute(select(func.count()).where(ev.origin.is_(None))).scalar_one()
            people = conn.execute(select(func.count()).select_from(t.members)).scalar_one()
    except Exception:  # no schema yet
        return None
    finally:
        ctx.engine.dispose()
    purchases, returns = int(counts.get("purchase", 0)), int(counts.get("return", 0))
    if purchases + returns != transactions or people != members:
        return None
    return {"purchases": purchases, "returns": returns, "events": int(events),
            "members": int(people), "transactions": transactions, "seconds": 0.0,
            "occurrences": purchases + returns + int(events) + int(people)}


# Reporting

def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def memory_line(result: dict[str, Any]) -> str:
    samples = result["samples"]
    marks = ", ".join(f"{mark}% {samples[mark]:,.0f}" for mark in MARKS if mark in samples)
    return (f"RSS {result['rss_before']:,.0f} MB before; at {marks} MB; "
            f"peak {result['peak_mb']:,.0f} MB")


def memory_verdict(result: dict[str, Any]) -> str:
    samples = result["samples"]
    if 25 not in samples or 100 not in samples:
        return "too few samples"
    growth = samples[100] - samples[25]
    per_100k = growth / (0.75 * result["history"]) * 100_000 if result["history"] else 0.0
    if growth <= 0.05 * samples[25]:
        return f"flat (25% -> 100%: {growth:+,.0f} MB)"
    return (f"NOT flat: {growth:+,.0f} MB from 25% to 100% of the history "
            f"({per_100k:+,.1f} MB per 100,000 occurrences)")


def counts_match(loaded: dict[str, Any], occurrences: dict[str, int]) -> bool:
    return (occurrences["purchases"] == loaded["purchases"]
            and occurrences["returns"] == loaded["returns"]
            and occurrences["events"] == loaded["events"] + loaded["members"]
            and occurrences["members"] == loaded["members"])


def history_for(db: str, args: argparse.Namespace) -> tuple[str, dict[str, Any]] | None:
    """The database's URL and what it holds: loaded now, or kept from an earlier run."""
    members = args.members or max(1, args.transactions // 20)
    url = prepare_sqlite(not args.reuse) if db == "sqlite" else prepare_postgres(not args.reuse)
    if url is None:
        return None
    if args.reuse:
        kept = loaded_already(url, args.transactions, members)
        if kept is not None:
            print(f"\n{label(db)}: reusing the kept history ({kept['transactions']:,} "
                  f"transactions, {kept['members']:,} members, {kept['occurrences']:,} "
                  "occurrences)", flush=True)
            return url, kept
        drop(db)
        url = prepare_sqlite(True) if db == "sqlite" else prepare_postgres(True)
        assert url is not None
    print(f"\n{label(db)}: loading {args.transactions:,} transactions of {members:,} members "
          "...", flush=True)
    loaded = in_process(load_job, url, args.transactions, members, not args.no_ledger)
    rows = (loaded["occurrences"] + loaded["lines"] + loaded["ledger_entries"]  # history
            + 2 * loaded["members"] + loaded["transactions"] + loaded["events"])
    print(f"loaded in {loaded['seconds']:.1f} s ({rate(rows, loaded['seconds'])} rows/s, "
          f"{rows:,} rows; peak RSS {loaded['peak_mb']:,.0f} MB): "
          f"{loaded['purchases']:,} purchases, {loaded['partial_returns']:,} partial and "
          f"{loaded['full_returns']:,} full returns, {loaded['lines']:,} lines, "
          f"{loaded['events']:,} events {loaded['event_types']}, {loaded['members']:,} "
          f"enrolments, {loaded['ledger_entries']:,} ledger entries; "
          f"{loaded['occurrences']:,} occurrences in the history", flush=True)
    return url, loaded


def label(db: str) -> str:
    return f"SQLite ({SQLITE_FILE})" if db == "sqlite" else f"PostgreSQL ({PG_NAME})"


class Figures:
    """Rows of the table, each printed as soon as it is measured."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, str]] = []

    def add(self, name: str, wall: float, cpu: float, note: str) -> None:
        self.rows.append((name, wall, cpu, note))
        print(f"  {name}: {wall:.1f} s (CPU {cpu:.1f} s), {note}", flush=True)

    def table(self) -> None:
        print(f"  {'':<52} {'wall':>8}   {'CPU':>8}")
        for name, wall, cpu, note in self.rows:
            print(f"  {name:<52} {wall:>8.1f} s {cpu:>8.1f} s   {note}")


def measure(db: str, args: argparse.Namespace) -> str | None:
    """Load, measure and print one database's figures; the summary line, or None if skipped."""
    found = history_for(db, args)
    if found is None:
        return None
    url, loaded = found
    occurrences = loaded["occurrences"]
    figures = Figures()
    stream = in_process(stream_job, url, False)
    figures.add("stream-only: the history as this backtest reads it", stream["seconds"],
                stream["cpu"], f"{rate(stream['items'], stream['seconds'])} occurrences/s")
    recorded = in_process(stream_job, url, True)
    figures.add("stream, with the recorded points as well", recorded["seconds"],
                recorded["cpu"], f"{rate(recorded['items'], recorded['seconds'])} "
                "occurrences/s (what a backtest against the versions in force reads)")
    evaluate = in_process(evaluate_job, url)
    figures.add("evaluate-only: bundled rules once per purchase", evaluate["seconds"],
                evaluate["cpu"],
                f"{rate(evaluate['evaluations'], evaluate['seconds'])} evaluations/s "
                f"({evaluate['evaluations']:,}; {evaluate['wall']:.1f} s with reading)")
    print("  backtest ...", flush=True)
    try:
        whole: dict[str, Any] | None = in_process(backtest_job, url, 1, 1)
    except JobFailed as failed:
        whole = None
        print(f"  backtest FAILED after {failed.seconds:.1f} s: {failed}", flush=True)
    if whole is not None:
        figures.add("backtest: draft against version 1", whole["seconds"], whole["cpu"],
                    f"{rate(occurrences, whole['seconds'])} occurrences/s "
                    f"(setup {whole['setup']:.1f} s); {memory_line(whole)}")
    parallel: tuple[float, list[dict[str, Any]]] | None = None
    if args.parallel > 1:
        print(f"  backtest in {args.parallel} shards ...", flush=True)
        try:
            parallel = shards(url, args.parallel)
        except JobFailed as failed:
            print(f"  a shard FAILED after {failed.seconds:.1f} s: {failed}", flush=True)
    if parallel is not None:
        wall, results = parallel
        slowest = max(r["seconds"] for r in results)
        speed_up = f"{whole['seconds'] / wall:.2f}x one process, " if whole else ""
        figures.add(f"backtest in {args.parallel} shards, {args.parallel} processes", wall,
                    sum(r["cpu"] for r in results),
                    f"{rate(occurrences, wall)} occurrences/s, {speed_up}slowest shard "
                    f"{slowest:.1f} s in its process")

    print(f"\n{label(db)}, {args.transactions:,} transactions, {occurrences:,} occurrences")
    figures.table()
    if whole is not None:
        details(whole, loaded, stream, recorded, evaluate)
    shard_note = ""
    if parallel is not None:
        wall, results = parallel
        shard_details(results, whole)
        shard_note = f", {args.parallel} shards: {wall:.1f} s"
    if not args.keep:
        drop(db)
    allowed = TARGET_SECONDS * args.transactions / TARGET_TRANSACTIONS
    target = ("under 3 minutes for 1,000,000 transactions"
              if args.transactions == TARGET_TRANSACTIONS
              else f"under {allowed:.1f} s (3 minutes per 1,000,000 transactions, pro rata)")
    if whole is None:
        timed, peak, met = "FAILED", "-", "NOT met"
    else:
        timed = (f"{whole['seconds']:.1f} s "
                 f"({rate(occurrences, whole['seconds'])} occurrences/s)")
        peak = f"{whole['peak_mb']:,.0f} MB"
        met = "met" if whole["seconds"] < allowed else "NOT met"
    return (f"{db}: backtest of {args.transactions:,} transactions: {timed}{shard_note}; "
            f"peak RSS {peak}; stream-only {stream['seconds']:.1f} s; evaluate-only "
            f"{evaluate['seconds']:.1f} s; target {target}: {met}")


def details(whole: dict[str, Any], loaded: dict[str, Any], stream: dict[str, Any],
            recorded: dict[str, Any], evaluate: dict[str, Any]) -> None:
    seconds, got = whole["seconds"], whole["occurrences"]
    print(f"  ratios (wall): backtest / stream-only {seconds / stream['seconds']:.1f}x "
          f"(/ stream with recorded points {seconds / recorded['seconds']:.1f}x), "
          f"backtest / evaluate-only {seconds / evaluate['seconds']:.1f}x "
          f"(the backtest decides each occurrence twice, draft and version 1)")
    print(f"  ratios (CPU): backtest / stream-only {whole['cpu'] / stream['cpu']:.1f}x, "
          f"backtest / evaluate-only {whole['cpu'] / evaluate['cpu']:.1f}x")
    print(f"  memory: {memory_line(whole)}; {memory_verdict(whole)}")
    print(f"  baselines' peak RSS: stream {stream['peak_mb']:,.0f} MB, evaluate "
          f"{evaluate['peak_mb']:,.0f} MB")
    print(f"  report: {got}; differing decisions {whole['differing']:,}, points difference "
          f"{whole['points_difference']:+,}, cost difference {whole['cost_difference']}")
    print(f"  occurrence counts match what was loaded: "
          f"{'yes' if counts_match(loaded, got) else 'NO'}; read "
          f"{whole['occurrences_read']:,} of {whole['history']:,}")


def shard_details(results: list[dict[str, Any]], whole: dict[str, Any] | None) -> None:
    for k, r in enumerate(results, start=1):
        print(f"  shard {k}/{len(results)}: {r['seconds']:.1f} s (CPU {r['cpu']:.1f} s), "
              f"{r['history']:,} occurrences, {memory_line(r)}")
    if whole is not None:
        got = whole["occurrences"]
        summed = {key: sum(r["occurrences"][key] for r in results) for key in got}
        same = all(summed[key] == got[key] for key in got)
        print(f"  shards' occurrences add up to the whole: {'yes' if same else 'NO'} "
              f"({summed})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--transactions", type=int, default=TARGET_TRANSACTIONS)
    parser.add_argument("--members", type=int, default=0,
                        help="default: one member per 20 transactions")
    parser.add_argument("--parallel", type=int, default=2,
                        help="shards run side by side in as many processes (0: none)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the loaded databases (SQLite file, PostgreSQL database)")
    parser.add_argument("--reuse", action="store_true",
                        help="time a kept history of the same size instead of loading again")
    parser.add_argument("--no-ledger", action="store_true",
                        help="load no ledger entries (only a backtest against the "
                             "versions in force reads them)")
    args = parser.parse_args()
    summaries = []
    for db in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        summary = measure(db, args)
        if summary is not None:
            summaries.append(summary)
    print()
    for summary in summaries:
        print(summary)


if __name__ == "__main__":
    main()
