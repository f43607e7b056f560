"""Purchases per second over HTTP, beside a baseline measured in the same run.

Starts gunicorn on loopback three times per database, with the same workers and threads:
the baseline (a minimal Flask endpoint that inserts one row with the ORM and commits), the
floor (`bench/floor_app.py`: what every purchase must do with the fixed stack and nothing of
the ledger: the service's request schema, one evaluation of the bundled rules, the receipt
schema's dump, the baseline's insert) and the loyalty service. Drives each with the same
keep-alive load generator at 1 and at 32 connections, the floor and the service with the same
purchase body. Prints throughput and p50/p99 latency, the ratios service/baseline against
the targets, floor/baseline (how much of the budget the fixed stack takes before any ledger
work) and service/floor (what the ledger work adds above that floor).

    python bench/http_bench.py                      # SQLite, and PostgreSQL if reachable
    python bench/http_bench.py --seconds 20 --db sqlite
    python bench/http_bench.py --db sqlite --request-checkpoints   # also the service with
                                       # SQLite's checkpoints inside requests, for comparison
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline_app import prepare as prepare_table

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/loyalty_bench"
MEMBERS = 200


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def start(
    app: str, port: int, env: dict[str, str], workers: int, threads: int
) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")
    proc = subprocess.Popen(
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )
    wait_for(port)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def _client(
    port: int,
    make: Callable[[int], tuple[str, bytes]],
    headers: str,
    deadline: float,
    counter: list[int],
    result: Result,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.monotonic() < deadline:
        counter[0] += 1
        path, body = make(counter[0])
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        began = time.perf_counter()
        try:
            writer.write(request.encode() + body)
            status, close = await _read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            status, close = 0, True  # counted as an error; a fresh connection follows
        result.latencies.append(time.perf_counter() - began)
        if not 200 <= status < 300:
            result.errors += 1
        else:
            result.requests += 1
        if close:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one HTTP/1.1 response, and whether the server closes the connection."""
    status_line = await reader.readline()
    if not status_line:
        raise asyncio.IncompleteReadError(b"", None)
    length = 0
    close = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
        if name.lower() == "connection" and "close" in value.lower():
            close = True
    await reader.readexactly(length)
    return int(status_line.split()[1]), close


def load(
    port: int,
    make: Callable[[int], tuple[str, bytes]],
    headers: str,
    connections: int,
    seconds: float,
) -> Result:
    result = Result(0, 0, seconds, [])
    counter = [0]

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_client(port, make, headers, deadline, counter, result) for _ in range(connections))
        )

    began = time.monotonic()
    asyncio.run(main())
    result.seconds = time.monotonic() - began
    return result


def purchase_maker(
    run: str, path: str = "/api/v1/transactions"
) -> Callable[[int], tuple[str, bytes]]:
    def make(n: int) -> tuple[str, bytes]:
        body = {
            "transaction_id": f"{run}-{n}",
            "type": "purchase",
            "member_id": f"B-{n % MEMBERS:04d}",
            "occurred_at": "2026-11-20T14:03:00+08:00",
            "store_id": "S12",
            "channel": "store",
            "currency": "CNY",
            "lines": [
                {
                    "sku": "FRIDGE-300",
                    "category": "appliances",
                    "quantity": 1,
                    "unit_price": "3999.00",
                },
                {
                    "sku": "FILTER-1",
                    "category": "accessories",
                    "quantity": 2,
                    "unit_price": "49.50",
                },
            ],
            "payments": [{"method": "card", "amount": "4098.00"}],
            "offer_codes": [],
        }
        return path, json.dumps(body).encode()

    return make


def baseline_maker(run: str) -> Callable[[int], tuple[str, bytes]]:
    def make(n: int) -> tuple[str, bytes]:
        return "/insert", json.dumps({"transaction_id": f"{run}-{n}"}).encode()

    return make


def prepare_service(env: dict[str, str]) -> str:
    """Migrate, activate the bundled rules, enrol members; return a pos key."""
    run_env = {**os.environ, **env}
    loyalty = str(Path(sys.executable).parent / "loyalty")
    subprocess.run([loyalty, "init"], cwd=ROOT, env=run_env, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(
        [loyalty, "keys", "create", "--role", "pos", "--name", "bench"],
        cwd=ROOT,
        env=run_env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = out.stdout.strip().splitlines()[-1]
    code = (
        "from loyalty.app import build_context\nfrom loyalty.config import Settings\n"
        "from loyalty.domain.commands import EnrolMember\n"
        "from loyalty.services.members import enrol\n"
        "ctx = build_context(Settings.from_env())\n"
        f"for i in range({MEMBERS}):\n    enrol(ctx, EnrolMember(member_id=f'B-{{i:04d}}'))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=run_env, check=True)
    return key


def reset_postgres() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
            autocommit=True,
            connect_timeout=3,
        ) as conn:
            conn.execute("DROP DATABASE IF EXISTS loyalty_bench")
            conn.execute("CREATE DATABASE loyalty_bench")
        return True
    except psycopg.Error:
        return False


def prepare_all(db: str, tmp: Path) -> tuple[dict[str, str], str, str, str]:
    """Databases for the service, the baseline and the floor (SQLite files in `tmp`, or the
    bench database on PostgreSQL), made ready: the service's environment and pos key, then
    the baseline's and the floor's URLs."""
    if db == "sqlite":
        service_url = f"sqlite:///{tmp / 'loyalty.db'}"
        baseline_url = f"sqlite:///{tmp / 'baseline.db'}"
        floor_url = f"sqlite:///{tmp / 'floor.db'}"
    else:
        service_url = baseline_url = floor_url = PG_BENCH
    service_env = {"LOYALTY_DATABASE_URL": service_url, "LOYALTY_RULES_DIR": str(ROOT / "rules")}
    key = prepare_service(service_env)
    prepare_table(baseline_url)
    prepare_table(floor_url)
    return service_env, key, baseline_url, floor_url


def run_server(
    app: str,
    env: dict[str, str],
    maker: Callable[[str], Callable[[int], tuple[str, bytes]]],
    headers: str,
    seconds: float,
    workers: int,
    threads: int,
) -> tuple[Result, Result]:
    """Serve `app` with gunicorn, warm it up, then load it at 1 and at 32 connections."""
    port = free_port()
    proc = start(app, port, env, workers, threads)
    try:
        load(port, maker("w"), headers, 4, 2)  # warm-up
        return (load(port, maker("a"), headers, 1, seconds),
                load(port, maker("b"), headers, 32, seconds))
    finally:
        stop(proc)


def measure(
    db: str, seconds: float, workers: int, threads: int, request_checkpoints: bool
) -> dict[str, Result]:
    tmp = Path(tempfile.mkdtemp(prefix="loyalty-bench-"))
    service_env, key, baseline_url, floor_url = prepare_all(db, tmp)
    run = f"{int(time.time())}"
    servers: list[tuple[str, str, dict[str, str], Callable[[str], Any], str]] = [
        ("baseline", "bench.baseline_app:create_app()", {"BASELINE_DATABASE_URL": baseline_url},
         lambda tag: baseline_maker(run + tag), ""),
        ("floor", "bench.floor_app:create_app()", {"FLOOR_DATABASE_URL": floor_url},
         lambda tag: purchase_maker(run + "f" + tag, "/floor"), ""),
        ("purchase", "loyalty:create_app()", service_env,
         lambda tag: purchase_maker(run + tag), f"Authorization: Bearer {key}\r\n"),
    ]
    if request_checkpoints and db == "sqlite":
        # the same service on a database of its own, prepared alike, so that both start from the
        # same members: SQLite checkpointing inside the requests
        rc_env = {**service_env, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp / 'loyalty-rc.db'}",
                  "LOYALTY_SQLITE_BACKGROUND_CHECKPOINTS": "false"}
        rc_key = prepare_service(rc_env)
        servers.append(
            ("purchase rc", "loyalty:create_app()", rc_env,
             lambda tag: purchase_maker(run + "r" + tag), f"Authorization: Bearer {rc_key}\r\n"))
    results: dict[str, Result] = {}
    for name, app, env, maker, headers in servers:
        one, many = run_server(app, env, maker, headers, seconds, workers, threads)
        results[f"{name} c1"], results[f"{name} c32"] = one, many
    shutil.rmtree(tmp, ignore_errors=True)
    return results


def report(db: str, results: dict[str, Result]) -> None:
    print(f"\n== {db} ==")
    print(f"{'run':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<16}{r.rps:>9.1f}{r.pct(0.5):>9.2f}{r.pct(0.99):>9.2f}{r.errors:>8}")
    b1, b32 = results["baseline c1"], results["baseline c32"]
    f1, f32 = results["floor c1"], results["floor c32"]
    p1, p32 = results["purchase c1"], results["purchase c32"]
    print(f"throughput ratio at 32 connections: {p32.rps / b32.rps:.2f}x (target >= 1.0x)")
    print(f"p50 ratio at 1 connection: {p1.pct(0.5) / b1.pct(0.5):.2f}x (target <= 1.5x)")
    print(f"p99 ratio at 1 connection: {p1.pct(0.99) / b1.pct(0.99):.2f}x (target <= 1.5x)")
    for label, top, low in (("floor/baseline", (f1, f32), (b1, b32)),
                            ("purchase/floor", (p1, p32), (f1, f32))):
        print(
            f"{label}: throughput at 32 {top[1].rps / low[1].rps:.2f}x, "
            f"p50 at 1 {top[0].pct(0.5) / low[0].pct(0.5):.2f}x, "
            f"p99 at 1 {top[0].pct(0.99) / low[0].pct(0.99):.2f}x"
        )
    excess = p1.pct(0.5) - b1.pct(0.5)
    if excess > 0:
        share = (f1.pct(0.5) - b1.pct(0.5)) / excess
        print(f"of the purchase's p50 above the baseline at 1 connection, the floor is {share:.0%}")
    if "purchase rc c1" in results:
        r1, r32 = results["purchase rc c1"], results["purchase rc c32"]
        print(
            "background/request checkpoints: "
            f"throughput at 32 {p32.rps / r32.rps:.2f}x, p50 at 1 {p1.pct(0.5) / r1.pct(0.5):.2f}x,"
            f" p99 at 1 {p1.pct(0.99) / r1.pct(0.99):.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--request-checkpoints",
        action="store_true",
        help="on SQLite, also run the service with checkpoints in requests ('purchase rc')",
    )
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for db in dbs:
        if db == "postgres" and not reset_postgres():
            print("\n== postgres == not reachable on 127.0.0.1:5432, skipped")
            continue
        report(db, measure(db, args.seconds, args.workers, args.threads,
                           args.request_checkpoints))


if __name__ == "__main__":
    main()
