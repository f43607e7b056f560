"""The reliability report: `python -m tests.reliability [--long]` writes docs/reliability.md.

Each test of the report records its figures with the `reliability` fixture (operations run,
faults injected, inputs tried, writes lost or doubled). The command runs those tests on SQLite
and, when one is reachable, on PostgreSQL, with `LOYALTY_RELIABILITY_LOG` naming a file the
figures are appended to, then writes the report from that file. `.ci/run` sets the same
variable for its two suite runs and writes the report from them (`--from-log`), so the figures
CI prints are those of its own run. `--long` runs the long variants (marked `slow`) as well.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "reliability.md"
LOG_VARIABLE = "LOYALTY_RELIABILITY_LOG"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIGURES = ("operations", "faults", "inputs", "lost", "doubled")


@dataclass(frozen=True)
class Check:
    """One line of the report: what is tried, and the tests (pytest node ids, or files) that
    try it."""

    title: str
    what: str
    tests: tuple[str, ...]


CHECKS: tuple[Check, ...] = (
    Check("Ledger against a model",
          "Hypothesis' stateful testing drives enrolment, purchases, activation, redemption, "
          "partial and full returns, expiry and replays against a model of lots and debt; "
          "every balance, lot and entry must match the model after every step.",
          ("tests/integration/test_ledger_model.py",)),
    Check("Hot members under load",
          "Several processes of tills send mixed traffic (purchases, returns, redemptions, "
          "replays) at a few shared members through gunicorn workers; every acknowledged "
          "write must be in the ledger exactly once and every balance must equal its entries.",
          ("tests/integration/test_load.py::test_hot_members_under_load_lose_and_double_nothing",)),
    Check("Double spend",
          "Many concurrent redemptions of the same points: exactly one wins.",
          ("tests/integration/test_load.py::test_concurrent_redemptions_of_the_same_points_have_one_winner",)),
    Check("Crash under load",
          "Workers and the master are killed with SIGKILL while tills send traffic, then the "
          "service is started again; every acknowledged write must survive, none twice.",
          ("tests/integration/test_load.py::test_killed_workers_and_master_lose_no_acknowledged_write",)),
    Check("Database outage",
          "The database is taken away, hung and given back through a proxy the test controls; "
          "the service answers 503 with Retry-After in seconds, never a 500, and recovers on "
          "its own.",
          ("tests/integration/test_outage.py",)),
    Check("Hostile requests",
          "Generated and hand-picked malformed requests against every endpoint's schema: each "
          "gets a 4xx in the JSON error shape and records nothing.",
          ("tests/api/test_fuzz.py", "tests/api/test_hostile_input.py",
           "tests/api/test_schemathesis.py", "tests/integration/test_oversized_bodies.py")),
    Check("Hostile rule files",
          "Links out of the folder, oversized files, too many rules, deep nesting, bad UTF-8 "
          "and values that would break the till or the sweep: each is a problem with its file "
          "and line, and the rules in force stay active.",
          ("tests/integration/test_hostile_rules.py",)),
    Check("Role matrix",
          "Every operation with every role's key: only the roles the README's table names "
          "are let through; every other role gets 403.",
          ("tests/api/test_roles.py",)),
)


def log_path() -> Path | None:
    value = os.environ.get(LOG_VARIABLE)
    return Path(value) if value else None


def record(test: str, database: str, **figures: int) -> None:
    """Append one test's figures to the log named by `LOYALTY_RELIABILITY_LOG`, if any."""
    path = log_path()
    if path is None:
        return
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figures {sorted(unknown)}; known: {FIGURES}")
    line = json.dumps({"test": test, "database": database, **figures}) + "\n"
    with path.open("a", encoding="utf-8") as out:  # one short write: whole lines, even in parallel
        out.write(line)


def read_log(paths: list[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        if path.is_file():
            rows.extend(json.loads(line) for line in path.read_text().splitlines() if line)
    return rows


def _matches(check: Check, test: str) -> bool:
    return any(test == name or test.startswith(name + "::") for name in check.tests)


def render(rows: list[dict[str, Any]], *, command: str, started: str) -> str:
    """The report as Markdown: one section per check, one line per database."""
    lines = [
        "# Reliability report",
        "",
        f"Produced by {command} on {started}. Every figure below comes "
        "from that run: `operations` counts what the tests did (requests, ledger operations, "
        "steps), `faults` the faults injected (kills, outages, hangs), `inputs` the malformed "
        "inputs tried, `lost` and `doubled` the acknowledged writes missing or counted twice "
        "afterwards.",
        "",
        "| Check | Database | Tests | Operations | Faults | Inputs | Lost | Doubled |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    sections = []
    missing = []
    for check in CHECKS:
        by_database: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in rows:
            if _matches(check, row["test"]):
                totals = by_database[row["database"]]
                totals["tests"] += 1
                for figure in FIGURES:
                    totals[figure] += int(row.get(figure, 0))
        if not by_database:
            missing.append(check.title)
        for database in sorted(by_database):
            t = by_database[database]
            lines.append(f"| {check.title} | {database} | {t['tests']} | {t['operations']:,} | "
                         f"{t['faults']:,} | {t['inputs']:,} | {t['lost']} | {t['doubled']} |")
        tests = ", ".join(f"`{name}`" for name in check.tests)
        sections.append(f"## {check.title}\n\n{check.what}\n\nTests: {tests}.\n")
    lost = sum(int(row.get("lost", 0)) + int(row.get("doubled", 0)) for row in rows)
    lines += ["", f"Writes lost or doubled over the whole run: **{lost}**.", ""]
    if missing:
        lines += ["Not run in this run: " + ", ".join(missing) + ".", ""]
    return "\n".join(lines + sections)


def _postgres_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                        connect_timeout=3).close()
    except Exception:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability", description=__doc__)
    parser.add_argument("--long", action="store_true", help="run the long variants too")
    parser.add_argument("--from-log", nargs="+", type=Path, metavar="LOG",
                        help="write the report from these logs instead of running the tests")
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    clock = time.monotonic()
    if args.from_log:
        rows = read_log(args.from_log)
        command = ("the test suites run with LOYALTY_RELIABILITY_LOG set, as `.ci/run` runs "
                   "them, then `python -m tests.reliability --from-log`")
    else:
        command = "`python -m tests.reliability" + (" --long`" if args.long else "`")
        tests = sorted({name.split("::")[0] for check in CHECKS for name in check.tests})
        marker = ["-m", ""] if args.long else []
        logs = []
        status = 0
        databases: list[tuple[str, dict[str, str]]] = [("sqlite", {})]
        if _postgres_reachable():
            databases.append(("postgresql", {"LOYALTY_TEST_DATABASE_URL": POSTGRES}))
        for name, extra in databases:
            log = Path(tempfile.mkstemp(prefix=f"reliability-{name}-", suffix=".jsonl")[1])
            logs.append(log)
            env = {**os.environ, **extra, LOG_VARIABLE: str(log)}
            print(f"== {name} ==", flush=True)
            status |= subprocess.call([sys.executable, "-m", "pytest", "-q", *marker, *tests],
                                      cwd=ROOT, env=env)
        rows = read_log(logs)
        if status:
            print("some reliability tests failed: the report is written all the same")
    if not args.from_log:
        command += f" in {time.monotonic() - clock:.0f} s"
    text = render(rows, command=command, started=started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    return 0 if args.from_log else status


if __name__ == "__main__":
    raise SystemExit(main())
