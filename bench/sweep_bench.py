"""The daily sweep over a large generated programme on PostgreSQL.

Generates N members (default 1,000,000) with about ten ledger entries each (purchases, lots,
earn and activation entries, redemptions), in the state yesterday's sweep would have left,
then times one sweep as of today: points activation and expiry, tier requalification, VIP
ranking, lifecycle stages with win-back offers, birthdays. Beside it, in the same run, a
baseline: walking every member in the same batches with the same row locks and no work.
Prints the sweep's time, members per second, the ratio to the baseline, what each phase
changed, peak memory, and the time of a second run for the same date.

    python bench/sweep_bench.py                      # 1,000,000 members
    python bench/sweep_bench.py --members 100000 --batch-size 5000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.app import build_context  # noqa: E402
from loyalty.config import Settings  # noqa: E402
from loyalty.services.context import ServiceContext  # noqa: E402
from loyalty.services.sweep import Shard, run_sweep  # noqa: E402
from loyalty.services.sweep.lifecycle import purchases, stage_expression  # noqa: E402
from loyalty.services.sweep.runner import _next_batch  # noqa: E402
from loyalty.store import tables as t  # noqa: E402
from loyalty.store.migrate import upgrade  # noqa: E402

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
URL = "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_sweep_bench"
DSN = "host=127.0.0.1 port=5432 user=postgres dbname=loyalty_sweep_bench"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)

# Each statement builds one table from generate_series; :n is the member count. Members are
# spread over the last ~4 years; each has three purchases, 0, 200 and 400 days before the
# member's last visit (i % 400 days ago), one lot per purchase, earn + activation entries per
# lot, and a redemption for one in three lots. The oldest lots of about one member in six are
# past their 24-month expiry, so the sweep also expires points.
# Lifecycle stages are those yesterday's sweep left (last purchase i % 400 days ago; growing or
# mature as `yesterdays_stages` computes them), so today's sweep moves only the members
# crossing a threshold today, as in daily operation.
GENERATE = [
    """
    INSERT INTO members (member_id, name, email, phone, birth_date, gender, region, enrolled_at,
        channel, attributes, tags, tier, tier_since, tier_review_at, vip, lifecycle_stage,
        lifecycle_since, bucket, points_available, points_pending, points_debt, points_lifetime,
        lifetime_spend, lifetime_visits, last_purchase_at, categories, created_at)
    SELECT 'M' || lpad(i::text, 8, '0'), 'Member ' || i, NULL, NULL,
        DATE '1960-01-01' + (i * 37 % 15000), NULL, 'region-' || (i % 20),
        TIMESTAMPTZ '2026-11-20' - ((30 + i % 1400) || ' days')::interval, 'store',
        '{}'::json, '[]'::json,
        CASE WHEN i % 100 = 0 THEN 'platinum' WHEN i % 20 = 0 THEN 'gold'
             WHEN i % 5 = 0 THEN 'silver' ELSE 'member' END,
        TIMESTAMPTZ '2026-11-20' - ((i % 365) || ' days')::interval,
        CASE WHEN i % 5 = 0
             THEN TIMESTAMPTZ '2026-11-20' + ((365 - i % 365) || ' days')::interval END,
        false,
        CASE WHEN i % 400 >= 364 THEN 'churned' WHEN i % 400 >= 119 THEN 'lapsed'
             WHEN i % 400 >= 59 THEN 'declining' ELSE 'mature' END,
        NULL, i % 1024, 0, 0, 0, 0, 0, 3,
        TIMESTAMPTZ '2026-11-20' - ((i % 400) || ' days')::interval, '["homeware"]'::json,
        now()
    FROM generate_series(1, :n) AS i
    """,
    """
    INSERT INTO transactions (transaction_id, member_id, type, occurred_at, recorded_at,
        store_id, channel, currency, total, ruleset_version, points_earned, points_clawed_back,
        returned_total)
    SELECT 'T' || lpad(i::text, 8, '0') || '-' || k, 'M' || lpad(i::text, 8, '0'), 'purchase',
        TIMESTAMPTZ '2026-11-20' - (((i % 400) + 200 * (k - 1)) || ' days')::interval,
        now(), 'S1', 'store', 'CNY', (100 + (i * k) % 9000) * 10000, '1', 100 + (i * k) % 9000,
        0, 0
    FROM generate_series(1, :n) AS i, generate_series(1, 3) AS k
    """,
    """
    INSERT INTO point_lots (member_id, source_type, source_id, rule_id, earned, remaining,
        state, earned_at, pending_until, expires_at)
    SELECT member_id, 'transaction', transaction_id, 'base-earn', points_earned, points_earned,
        CASE WHEN occurred_at + interval '14 days' < TIMESTAMPTZ '2026-11-19'
             THEN 'available' ELSE 'pending' END,
        occurred_at, occurred_at + interval '14 days', occurred_at + interval '24 months'
    FROM transactions
    """,
    """
    INSERT INTO ledger_entries (member_id, kind, bucket, points, lot_id, source_type,
        source_id, rule_id, ruleset_version, campaign, reason, occurred_at, recorded_at)
    SELECT member_id, 'earn', 'pending', earned, lot_id, 'transaction', source_id, 'base-earn',
        '1', NULL, '1 point for every 1 CNY spent', earned_at, now()
    FROM point_lots
    UNION ALL
    SELECT member_id, 'activate', 'pending', -earned, lot_id, 'sweep', 'sweep:earlier',
        'points.pending_days', '1', NULL, 'the return window is over', pending_until, now()
    FROM point_lots WHERE state = 'available'
    UNION ALL
    SELECT member_id, 'activate', 'available', earned, lot_id, 'sweep', 'sweep:earlier',
        'points.pending_days', '1', NULL, 'the return window is over', pending_until, now()
    FROM point_lots WHERE state = 'available'
    """,
    """
    INSERT INTO ledger_entries (member_id, kind, bucket, points, lot_id, source_type,
        source_id, rule_id, ruleset_version, campaign, reason, occurred_at, recorded_at)
    SELECT l.member_id, 'redeem', 'available', -least(l.remaining, 50), l.lot_id, 'redemption',
        'R-' || l.lot_id, 'rewards.FREE-CHECKUP', '1', NULL, 'redeemed', l.pending_until, now()
    FROM point_lots l WHERE l.state = 'available' AND l.lot_id % 3 = 0
    """,
    """
    UPDATE point_lots l SET remaining = l.remaining - least(l.remaining, 50)
    WHERE l.state = 'available' AND l.lot_id % 3 = 0
    """,
    """
    UPDATE members m SET
        points_available = s.available, points_pending = s.pending, points_lifetime = s.earned,
        lifetime_spend = s.spend
    FROM (SELECT l.member_id,
                 sum(CASE WHEN l.state = 'available' THEN l.remaining ELSE 0 END) AS available,
                 sum(CASE WHEN l.state = 'pending' THEN l.remaining ELSE 0 END) AS pending,
                 sum(l.earned) AS earned, sum(l.earned) * 10000 AS spend
          FROM point_lots l GROUP BY l.member_id) s
    WHERE s.member_id = m.member_id
    """,
    """
    INSERT INTO idempotency_keys (scope, key, member_id, fingerprint, status_code, response,
        created_at)
    SELECT 'transaction', transaction_id, member_id, 'x', 201, '{}'::json, now()
    FROM transactions
    """,
]


def generate(members: int) -> float:
    """Create the database, its schema and rules, and the generated programme."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS loyalty_sweep_bench")
        conn.execute("CREATE DATABASE loyalty_sweep_bench")
    ctx = build_context(Settings.from_env(database_url=URL, rules_dir=str(ROOT / "rules")))
    upgrade(ctx.engine)
    ctx.rules.current()  # activates the bundled rules
    began = time.perf_counter()
    with psycopg.connect(DSN, autocommit=True) as conn:
        for statement in GENERATE:
            conn.execute(statement.replace(":n", str(members)))  # type: ignore[arg-type]
    yesterdays_stages(ctx)
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("ANALYZE")
    ctx.engine.dispose()
    return time.perf_counter() - began


def yesterdays_stages(ctx: ServiceContext) -> None:
    """Every member's lifecycle stage as the sweep would have left it yesterday (growing or
    mature depend on each member's own purchases)."""
    yesterday = AS_OF - timedelta(days=1)
    policy = ctx.rules.current().policy.lifecycle
    m = t.members.c
    bought = purchases(policy, yesterday, select(m.member_id))
    with ctx.engine.begin() as conn:
        conn.execute(update(t.members).where(m.member_id == bought.c.member_id)
                     .values(lifecycle_stage=stage_expression(policy, yesterday, bought)))


def counts() -> tuple[int, int, int]:
    with psycopg.connect(DSN) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM members), "
            "(SELECT count(*) FROM ledger_entries), "
            "(SELECT count(*) FROM point_lots)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def baseline(batch_size: int, url: str = URL) -> float:
    """Walk every member in the sweep's batches, locking them, doing nothing else."""
    ctx = build_context(Settings.from_env(database_url=url))
    began = time.perf_counter()
    cursor: str | None = None
    while True:
        with ctx.uow() as uow:
            batch = _next_batch(uow, Shard(), cursor, batch_size)
            uow.commit()
        if batch is None:
            break
        cursor = batch.hi
    ctx.engine.dispose()
    return time.perf_counter() - began


def sweep(batch_size: int) -> tuple[float, dict[str, object]]:
    ctx = build_context(Settings.from_env(database_url=URL, rules_dir=str(ROOT / "rules")))
    began = time.perf_counter()
    report = run_sweep(ctx, AS_OF, batch_size=batch_size)
    elapsed = time.perf_counter() - began
    ctx.engine.dispose()
    return elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--skip-generate", action="store_true")
    args = parser.parse_args()
    if not args.skip_generate:
        print(f"generating {args.members:,} members ...", flush=True)
        print(f"generated in {generate(args.members):.1f} s", flush=True)
    members, entries, lots = counts()
    print(f"members {members:,}, ledger entries {entries:,}, lots {lots:,}")
    walk = baseline(args.batch_size)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elapsed, report = sweep(args.batch_size)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"baseline (walk and lock every member in batches of {args.batch_size}): {walk:.1f} s")
    print(
        f"sweep as of {AS_OF.date()}: {elapsed:.1f} s "
        f"({members / elapsed:,.0f} members/s), {elapsed / walk:.1f}x the baseline, "
        f"target under 300 s: {'met' if elapsed < 300 else 'NOT met'}"
    )
    for phase, changed in report["phases"].items():  # type: ignore[attr-defined]
        print(f"  {phase:<10} {changed}")
    print(f"peak resident memory: {rss_before:.0f} MB before the sweep, {rss_after:.0f} MB after")
    started = time.perf_counter()
    _, again = sweep(args.batch_size)
    print(
        f"second run for the same date: {time.perf_counter() - started:.1f} s, "
        f"{'the same report: nothing changed' if again == report else 'a DIFFERENT report'}"
    )


if __name__ == "__main__":
    main()
