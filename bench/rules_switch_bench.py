"""Till latency around a switch to a large rule set (not a test).

Serves a fresh database with gunicorn (two workers), keeps tills posting purchases, then
activates a large rule set (the bundled rules plus several hundred rules per event type, within
the rule-file limits) through the API and keeps the tills going. Prints the purchases' latency
before the activation and in the seconds after it: a worker that compiled the new set inside a
till request shows it as a stall there.

    python bench/rules_switch_bench.py                       # SQLite under /tmp
    python bench/rules_switch_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench
    python bench/rules_switch_bench.py --scheduled           # scheduled 60 s ahead instead

With --scheduled the window measured starts 5 s before the scheduled instant.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.engine import read_rule_dir  # noqa: E402

EVENTS = ("purchase", "service", "complaint", "survey")


def large_ruleset(name: str, on: str, count: int) -> str:
    """`count` rules reacting to `on`, each with two conditions and a fixed award."""
    lines = [f"ruleset: {name}", f"description: {count} rules on {on} events", f"on: [{on}]",
             "rules:"]
    categories = ("kitchen", "appliances", "tv", "audio", "phones")
    for i in range(count):
        condition = (f"any_line: {{fact: line.category, is: {categories[i % 5]}}}"
                     if on == "purchase" else "{fact: member.tier, is: member}")
        lines += [f"  - id: {name}-{i}", f"    description: rule {i} of {name}",
                  f"    priority: {100 + i % 50}", "    when:",
                  f"      - {{fact: stats.lifetime_visits, at_least: {i}}}",
                  f"      - {condition}", "    then:", f"      - award_points: {{points: {1 + i}}}"]
    return "\n".join(lines) + "\n"


def large_set(per_event: int) -> dict[str, str]:
    files = read_rule_dir(ROOT / "rules")
    for event in EVENTS:
        files[f"many_{event}.yaml"] = large_ruleset(f"many-{event}", event, per_event)
    return files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, refresh: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "LOYALTY_DATABASE_URL": url, "LOYALTY_RULES_DIR": str(ROOT / "rules"),
           "LOYALTY_RULES_REFRESH_SECONDS": str(refresh), "LOYALTY_KEY_CACHE_SECONDS": "5"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--workers", "2", "--threads", "2", "--bind",
                             f"127.0.0.1:{port}", "--timeout", "120", "loyalty:create_app()"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the service did not start")


def keys(url: str) -> tuple[str, str]:
    from loyalty.app import build_context
    from loyalty.config import Settings
    from loyalty.services.keys import create_key

    ctx = build_context(Settings(database_url=url, rules_dir=str(ROOT / "rules")))
    till = create_key(ctx, "pos", "bench till")[0]
    marketing = create_key(ctx, "marketing", "bench marketing")[0]
    ctx.engine.dispose()
    return till, marketing


def till(base: str, key: str, stop: threading.Event, out: list[tuple[float, float]],
         number: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        member = client.post("/api/v1/members", json={"name": f"Bench {number}"}).json()
        n = 0
        while not stop.is_set():
            n += 1
            body = {"transaction_id": f"B-{number}-{n}-{time.time_ns()}", "type": "purchase",
                    "member_id": member["member_id"],
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "lines": [{"sku": "K1", "category": "kitchen", "quantity": 1,
                               "unit_price": "99.00"}]}
            started = time.monotonic()
            response = client.post("/api/v1/transactions", json=body)
            out.append((started, time.monotonic() - started))
            if response.status_code != 201:
                print("purchase failed:", response.status_code, response.text[:200])


def describe(label: str, samples: list[float]) -> str:
    if not samples:
        return f"{label}: no requests"
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (f"{label}: {len(samples)} purchases, median {statistics.median(samples) * 1000:.0f} "
            f"ms, p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms, over 500 ms: "
            f"{sum(s > 0.5 for s in samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL (default: a SQLite file under /tmp)")
    parser.add_argument("--per-event", type=int, default=350)
    parser.add_argument("--refresh", type=float, default=1.0)
    parser.add_argument("--tills", type=int, default=4)
    parser.add_argument("--after", type=float, default=10.0, help="seconds measured after")
    parser.add_argument("--scheduled", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="rules-switch-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    files = large_set(args.per_event)
    print(f"large set: {len(files)} files, {sum(len(t) for t in files.values()):,} characters, "
          f"{args.per_event} rules on each of {', '.join(EVENTS)}")
    proc, base = serve(url, args.refresh)
    try:
        till_key, marketing_key = keys(url)
        stop = threading.Event()
        samples: list[tuple[float, float]] = []
        threads = [threading.Thread(target=till, args=(base, till_key, stop, samples, n))
                   for n in range(args.tills)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(samples) < 50 and time.monotonic() < deadline:  # every worker warmed up
            time.sleep(0.5)
        time.sleep(2)
        body: dict[str, Any] = {"files": files, "reason": "bench: a large set"}
        ahead = 60.0 if args.scheduled else 0.0
        if args.scheduled:
            body["at"] = (datetime.now(UTC) + timedelta(seconds=ahead)).isoformat()
        posted = time.monotonic()
        answer = httpx.post(f"{base}/api/v1/rules/activate", json=body, timeout=300,
                            headers={"Authorization": f"Bearer {marketing_key}"})
        print(f"activation answered {answer.status_code} in {time.monotonic() - posted:.1f} s")
        switch = posted + ahead - 5 if args.scheduled else posted
        time.sleep(max(0.0, switch - time.monotonic()) + args.after)
        stop.set()
        for thread in threads:
            thread.join()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    warm = [s for s in samples[50:] if s[0] < posted]
    print(describe("before the activation", [latency for _, latency in warm]))
    label = "from 5 s before the instant" if args.scheduled else "after the activation"
    print(describe(f"{args.after:.0f} s {label}",
                   [latency for start, latency in samples if switch <= start]))


if __name__ == "__main__":
    main()
