"""Every report marketing reads, as JSON and as its page, over a large programme on PostgreSQL.

Generates N members (default 1,000,000) the way bench/sweep_bench.py does (three purchases
each, lots, ledger entries, redemptions), adds a year of history the reports read: eleven
monthly snapshots before this month's (members joining, moving between lifecycle stages and
value segments) and past win-back decisions with a one-in-ten control group, their offers
and the points the used offers gave; then runs the real daily sweep once as of 2026-11-20,
which values every member, takes this month's snapshot and makes today's win-back decisions.
Then times each report: its figures as JSON (a first run, and again with warm caches) and its
page (figures and HTML), and prints a table.

    python bench/reports_bench.py                          # 1,000,000 members
    python bench/reports_bench.py --members 200000
    python bench/reports_bench.py --database test_h5 --skip-generate   # time again
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sweep_bench  # the sweep bench beside this file: its generator

from loyalty.app import build_context
from loyalty.config import Settings
from loyalty.services.named_reports import REPORTS, read_report, report_page
from loyalty.services.sweep import run_sweep
from loyalty.store.migrate import upgrade

AS_OF = sweep_bench.AS_OF
ROOT = sweep_bench.ROOT

#: Member i's last purchase was i % 400 days before AS_OF, the two before it 200 and 400 days
#: earlier (see sweep_bench.GENERATE); it enrolled 30 + i % 1400 days before AS_OF.
DAYS_AGO = "(DATE '2026-11-20' - m.month)"
#: The same for the month before.
BEFORE = "(DATE '2026-11-20' - (m.month - interval '1 month')::date)"
LAST = "(s.i % 400)"
#: The days before AS_OF of the member's latest purchase made by the month's first day.
LATEST = (f"CASE WHEN {LAST} >= {DAYS_AGO} THEN {LAST} WHEN {LAST} + 200 >= {DAYS_AGO} "
          f"THEN {LAST} + 200 WHEN {LAST} + 400 >= {DAYS_AGO} THEN {LAST} + 400 END")
#: What the member's k-th purchase (1 = the latest) cost, in money units.
PRICE = "(100 + (s.i * {k}) % 9000)::bigint * 10000"
SEGMENT = ("CASE WHEN (s.i % 10 + CASE WHEN s.i % 7 = 0 THEN {shift} ELSE 0 END) % 10 < 2 "
           "THEN 'keep' WHEN (s.i % 10 + CASE WHEN s.i % 7 = 0 THEN {shift} ELSE 0 END) % 10 = 2 "
           "THEN 'maintain' WHEN (s.i % 10 + CASE WHEN s.i % 7 = 0 THEN {shift} ELSE 0 END) "
           "% 10 = 3 THEN 'grow' ELSE 'reduce-cost' END")


def stage(latest: str, days_ago: str) -> str:
    """The lifecycle stage, from the days between a month's first day and the latest purchase
    before it, as the sweep judged it then."""
    return (f"CASE WHEN {latest} IS NULL THEN 'dormant' "
            f"WHEN {latest} - {days_ago} >= 364 THEN 'churned' "
            f"WHEN {latest} - {days_ago} >= 119 THEN 'lapsed' "
            f"WHEN {latest} - {days_ago} >= 59 THEN 'declining' ELSE 'mature' END")


def spend(days_ago: str) -> str:
    """Spend over the 365 days before a month's first day: the purchases in that window."""
    return " + ".join(
        f"CASE WHEN {LAST} + {200 * (k - 1)} >= {days_ago} AND {LAST} + {200 * (k - 1)} "
        f"< {days_ago} + 365 THEN {PRICE.format(k=k)} ELSE 0 END" for k in (1, 2, 3))


# The eleven months before AS_OF's, each member's snapshot from the month after it enrolled;
# one member in seven moves between value segments each month.
HISTORY = [
    f"""
    INSERT INTO member_snapshots (month, member_id, tier, vip, lifecycle_stage, value_segment,
        current_value, spend_365d, previous_stage, previous_segment, taken_at)
    SELECT m.month, 'M' || lpad(s.i::text, 8, '0'),
        CASE WHEN s.i % 100 = 0 THEN 'platinum' WHEN s.i % 20 = 0 THEN 'gold'
             WHEN s.i % 5 = 0 THEN 'silver' ELSE 'member' END, false,
        {stage(LATEST, DAYS_AGO)}, {SEGMENT.format(shift="m.k")}, {spend(DAYS_AGO)},
        {spend(DAYS_AGO)},
        CASE WHEN m.k < 11 AND 30 + s.i % 1400 >= {BEFORE}
             THEN {stage(LATEST.replace(DAYS_AGO, BEFORE), BEFORE)} END,
        CASE WHEN m.k < 11 AND 30 + s.i % 1400 >= {BEFORE}
             THEN {SEGMENT.format(shift="(m.k + 1)")} END,
        m.month::timestamptz
    FROM generate_series(1, :n) AS s(i),
         (SELECT k, (DATE '2026-11-01' - (k || ' months')::interval)::date AS month
          FROM generate_series(1, 11) AS k) AS m
    WHERE 30 + s.i % 1400 >= {DAYS_AGO}
    """,
    # Past win-back decisions: every other member, judged lapsed 20 to 80 days before their
    # last purchase (offer group) or 60 to 120 days before it (the one in ten held out), with a
    # 60-day window to come back; members decided for less than 60 days ago are still open.
    f"""
    INSERT INTO offer_experiments (rule_id, campaign, ruleset_version, member_id, grp, percent,
        within_days, source_type, source_id, decided_at, window_until)
    SELECT 'winback-lapsed', 'winback-2026', '1', 'M' || lpad(s.i::text, 8, '0'),
        CASE WHEN s.i % 20 = 0 THEN 'control' ELSE 'offer' END, 10, 60, 'sweep',
        'sweep:' || s.i, d.at, d.at + interval '60 days'
    FROM generate_series(2, :n, 2) AS s(i),
         LATERAL (SELECT TIMESTAMPTZ '2026-11-20' - (({LAST} + 20 + (s.i / 2 % 4) * 20
                  + CASE WHEN s.i % 20 = 0 THEN 40 ELSE 0 END) || ' days')::interval AS at) d
    """,
    """
    INSERT INTO offers (member_id, offer_code, benefit, value, description, status, issued_at,
        valid_until, used_at, used_transaction_id, source_id, rule_id, ruleset_version, campaign)
    SELECT x.member_id, 'WINBACK-500', 'bonus_points', 5000000,
        '500 bonus points on your next purchase',
        CASE WHEN t.occurred_at <= x.decided_at + interval '30 days' THEN 'used' ELSE 'expired'
        END,
        x.decided_at, x.decided_at + interval '30 days',
        CASE WHEN t.occurred_at <= x.decided_at + interval '30 days' THEN t.occurred_at END,
        CASE WHEN t.occurred_at <= x.decided_at + interval '30 days' THEN t.transaction_id END,
        x.source_id, x.rule_id, '1', x.campaign
    FROM offer_experiments x
    JOIN transactions t ON t.transaction_id = 'T' || substr(x.member_id, 2) || '-1'
    WHERE x.grp = 'offer'
    """,
    """
    INSERT INTO ledger_entries (member_id, kind, bucket, points, lot_id, source_type,
        source_id, rule_id, ruleset_version, campaign, reason, occurred_at, recorded_at)
    SELECT o.member_id, 'earn', 'available', 500, NULL, 'transaction', o.used_transaction_id,
        o.rule_id, '1', o.campaign, '500 bonus points on your next purchase', o.used_at, now()
    FROM offers o WHERE o.used_at IS NOT NULL
    """,
]


def dsn(database: str) -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={database}"


def url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def generate(database: str, members: int) -> float:
    """An empty schema in `database` (created when missing), the generated programme and its
    history."""
    with psycopg.connect(sweep_bench.ADMIN_DSN, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (database,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
    with psycopg.connect(dsn(database), autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    ctx = build_context(Settings.from_env(database_url=url(database),
                                          rules_dir=str(ROOT / "rules")))
    upgrade(ctx.engine)
    ctx.rules.current()  # activates the bundled rules
    ctx.engine.dispose()
    began = time.perf_counter()
    with psycopg.connect(dsn(database), autocommit=True) as conn:
        for statement in [*sweep_bench.GENERATE, *HISTORY]:
            conn.execute(statement.replace(":n", str(members)))  # type: ignore[arg-type]
        conn.execute("ANALYZE")
    return time.perf_counter() - began


def sweep(database: str) -> tuple[float, dict[str, object]]:
    """The daily sweep as of AS_OF: values, this month's snapshot, today's decisions."""
    ctx = build_context(Settings.from_env(database_url=url(database),
                                          rules_dir=str(ROOT / "rules")))
    began = time.perf_counter()
    report = run_sweep(ctx, AS_OF, batch_size=5000)
    elapsed = time.perf_counter() - began
    with psycopg.connect(dsn(database), autocommit=True) as conn:
        conn.execute("ANALYZE")
    ctx.engine.dispose()
    return elapsed, report


def counts(database: str) -> dict[str, int]:
    tables = ("members", "transactions", "ledger_entries", "member_snapshots",
              "offer_experiments", "offers")
    with psycopg.connect(dsn(database)) as conn:
        return {table: int(conn.execute(f"SELECT count(*) FROM {table}")  # type: ignore[arg-type]
                           .fetchone()[0]) for table in tables}  # type: ignore[index]


def time_reports(database: str, months: int) -> list[tuple[str, float, float, float, int]]:
    """Per report: its JSON first, its JSON again, its page, and the page's size in bytes."""
    ctx = build_context(Settings.from_env(database_url=url(database),
                                          rules_dir=str(ROOT / "rules")))
    ctx.clock = lambda: AS_OF
    rows = []
    for name, report in REPORTS.items():
        kept = months if report.months else None
        timings = []
        for _ in range(2):
            began = time.perf_counter()
            json.dumps(read_report(ctx, name, months=kept))
            timings.append(time.perf_counter() - began)
        began = time.perf_counter()
        page = report_page(ctx, name, months=kept)
        rows.append((name, timings[0], timings[1], time.perf_counter() - began,
                     len(page.encode())))
    ctx.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="loyalty_reports_bench",
                        help="PostgreSQL database on 127.0.0.1:5432 (created when missing; "
                             "its schema is dropped and built again)")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--skip-generate", action="store_true",
                        help="time the reports of the database as it is")
    args = parser.parse_args()
    if not args.skip_generate:
        print(f"generating {args.members:,} members and a year of history in "
              f"{args.database} ...", flush=True)
        print(f"generated in {generate(args.database, args.members):.1f} s", flush=True)
        elapsed, report = sweep(args.database)
        print(f"sweep as of {AS_OF.date()}: {elapsed:.1f} s", flush=True)
        for phase, changed in report["phases"].items():  # type: ignore[attr-defined]
            print(f"  {phase:<16} {changed}")
    print(", ".join(f"{table} {n:,}" for table, n in counts(args.database).items()))
    print(f"\nreports as of {AS_OF.date()}, {args.months} months of monthly figures")
    print(f"{'report':<14}{'JSON (s)':>10}{'again (s)':>11}{'page (s)':>10}{'page (KB)':>11}")
    for name, first, again, page, size in time_reports(args.database, args.months):
        print(f"{name:<14}{first:>10.2f}{again:>11.2f}{page:>10.2f}{size / 1024:>11,.0f}")


if __name__ == "__main__":
    main()
