"""The sweep's value phase over a large generated programme on PostgreSQL.

Generates N members (default 100,000) and their purchases with the members and transactions
of bench/sweep_bench.py (three purchases each, 200 days apart, the last i % 400 days ago),
plus, for one member in four, eight more purchases every 7 to 59 days before that: buyers
from once a year to every week. Then times the value phase alone (run_sweep with ValuePhase):
a first sweep (every member valued for the first time: the fit on the sample, one summary
query and one vectorised prediction per batch, every value written and recorded in the
members' history), a sweep a day later (values move; only moves into another 10% band are
recorded), and a second run for the same day (nothing to do). Beside it, in the same run, the
baseline sweep_bench.py uses: walking every member in the same batches with the same row locks
and no work.

    python bench/value_bench.py                                # 100,000 members
    python bench/value_bench.py --members 1000000 --batch-size 5000
    python bench/value_bench.py --database test_h1             # another (scratch) database

The database is dropped and created anew (its schema, with --keep-database).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sweep_bench import AS_OF, GENERATE, baseline  # noqa: E402

from loyalty.app import build_context  # noqa: E402
from loyalty.config import Settings  # noqa: E402
from loyalty.services.context import ServiceContext  # noqa: E402
from loyalty.services.sweep import run_sweep  # noqa: E402
from loyalty.services.sweep.value import ValuePhase  # noqa: E402
from loyalty.services.value import valuation_for  # noqa: E402
from loyalty.store import tables as t  # noqa: E402
from loyalty.store.migrate import upgrade  # noqa: E402

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
MORE_PURCHASES = """
    INSERT INTO transactions (transaction_id, member_id, type, occurred_at, recorded_at,
        store_id, channel, currency, total, ruleset_version, points_earned, points_clawed_back,
        returned_total)
    SELECT 'X' || lpad(i::text, 8, '0') || '-' || k, 'M' || lpad(i::text, 8, '0'), 'purchase',
        TIMESTAMPTZ '2026-11-20' - (((i % 400) + (7 + i % 53) * k) || ' days')::interval
            - interval '5 hours',
        now(), 'S1', 'store', 'CNY', (50 + (i * k * 7) % 3000) * 10000, '1', 0, 0, 0
    FROM generate_series(1, :n) AS i, generate_series(1, 8) AS k
    WHERE i % 4 = 0
"""


def generate(database: str, members: int, keep_database: bool) -> tuple[str, float]:
    """The database with the schema, the bundled rules and the generated members; its URL."""
    if keep_database:
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={database}",
                             autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
    else:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {database}")
            conn.execute(f"CREATE DATABASE {database}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
    ctx = build_context(Settings.from_env(database_url=url, rules_dir=str(ROOT / "rules")))
    upgrade(ctx.engine)
    ctx.rules.current()  # activates the bundled rules
    ctx.engine.dispose()
    began = time.perf_counter()
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={database}",
                         autocommit=True) as conn:
        for statement in (*GENERATE[:2], MORE_PURCHASES):
            conn.execute(statement.replace(":n", str(members)))  # type: ignore[arg-type]
        conn.execute("ANALYZE")
    return url, time.perf_counter() - began


def context(url: str) -> ServiceContext:
    return build_context(Settings.from_env(database_url=url, rules_dir=str(ROOT / "rules")))


def value_sweep(url: str, as_of: Any, batch_size: int) -> tuple[float, dict[str, Any]]:
    ctx = context(url)
    began = time.perf_counter()
    report = run_sweep(ctx, as_of, batch_size=batch_size, phases=[ValuePhase()])
    elapsed = time.perf_counter() - began
    ctx.engine.dispose()
    return elapsed, report["phases"]["value"]


def fit_only(url: str, as_of: Any) -> tuple[float, dict[str, Any]]:
    """The fit alone (what prepare() does once per instant), for an instant not swept."""
    ctx = context(url)
    began = time.perf_counter()
    valuation = valuation_for(ctx, ctx.book(ctx.clock()).policy.value, as_of,
                              f"fit-only:{as_of.isoformat()}"[:32], ctx.clock())
    elapsed = time.perf_counter() - began
    ctx.engine.dispose()
    return elapsed, valuation.counts()


def recorded(url: str) -> int:
    ctx = context(url)
    with ctx.uow(read_only=True) as uow:
        count = int(uow.connection.execute(select(func.count()).select_from(
            t.member_changes)).scalar_one())
    ctx.engine.dispose()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--database", default="loyalty_value_bench")
    parser.add_argument("--keep-database", action="store_true",
                        help="drop and create the database's schema, not the database")
    args = parser.parse_args()
    print(f"generating {args.members:,} members ...", flush=True)
    url, took = generate(args.database, args.members, args.keep_database)
    print(f"generated in {took:.1f} s", flush=True)
    ctx = context(url)
    with ctx.uow(read_only=True) as uow:
        transactions = int(uow.connection.execute(select(func.count()).select_from(
            t.transactions)).scalar_one())
    ctx.engine.dispose()
    print(f"members {args.members:,}, transactions {transactions:,}")
    walk = baseline(args.batch_size, url)
    print(f"baseline (walk and lock every member in batches of {args.batch_size}): {walk:.1f} s")
    fitted, model = fit_only(url, AS_OF - timedelta(days=7))
    print(f"the fit alone (sample {model['sample']:,} members): {fitted:.1f} s; thresholds "
          f"current {model['current_threshold']}, potential {model['potential_threshold']}")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for label, as_of in (("first valuation", AS_OF),
                         ("a day later", AS_OF + timedelta(days=1)),
                         ("the same day again", AS_OF + timedelta(days=1))):
        before = recorded(url)
        elapsed, counts = value_sweep(url, as_of, args.batch_size)
        print(f"value phase, {label} ({as_of.date()}): {elapsed:.1f} s "
              f"({args.members / elapsed:,.0f} members/s, {elapsed / walk:.1f}x the baseline); "
              f"history rows {recorded(url) - before:,}; {counts}", flush=True)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {rss_before:.0f} MB before the sweeps, {rss_after:.0f} MB "
          "after")


if __name__ == "__main__":
    main()
