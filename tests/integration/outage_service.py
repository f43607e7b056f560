"""The real service under gunicorn for outage tests, and tills that keep sending purchases
through it: each till sends the same purchase again after a 503, as a till should."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from loyalty.app import build_context
from loyalty.config import Settings
from loyalty.services.context import ServiceContext
from loyalty.services.keys import create_key
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.migrate import ensure_schema
from tests.conftest import RULES_DIR
from tests.integration.helpers import enrol
from tests.integration.served import free_port

ROOT = Path(__file__).resolve().parents[2]
#: Without the right to override file permissions, a root process meets a read-only file as
#: any other user would.
WITHOUT_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def needs_dropped_override() -> bool:
    """Whether file permissions only bind this process's children through `setpriv`."""
    return os.geteuid() == 0


def can_drop_override() -> bool:
    return shutil.which("setpriv") is not None


@dataclass
class Served:
    """A running gunicorn: its address, process and log."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path
    workers: int

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def booted_workers(self) -> int:
        """How many workers gunicorn has started (more than asked for: some died)."""
        return self.log_text().count("Booting worker")


@contextmanager
def serving(database_url: str, log: Path, *, workers: int = 3,
            extra_env: dict[str, str] | None = None,
            drop_override: bool = False) -> Iterator[Served]:
    """gunicorn with `workers` workers serving `database_url`, up once it answers `/health`
    (which needs no database)."""
    port = free_port()
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url,
           "LOYALTY_RULES_DIR": str(RULES_DIR), "LOYALTY_KEY_CACHE_SECONDS": "0",
           "LOYALTY_RULES_REFRESH_SECONDS": "1", **(extra_env or {})}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--timeout", "60", "loyalty:create_app()"]
    if drop_override:
        command = WITHOUT_OVERRIDE + command
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out,
                                   stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", process, log, workers)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{served.base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, f"gunicorn exited:\n{served.log_text()[-3000:]}"
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def prepared(database_url: str, members: int) -> tuple[str, list[str]]:
    """A till's key and `members` enrolled members, written straight to the database."""
    ctx = build_context(Settings(database_url=database_url, rules_dir=str(RULES_DIR)))
    try:
        ensure_schema(ctx.engine)
        key = create_key(ctx, "pos", "till")[0]
        ids = [enrol(ctx, f"M-{n:03d}")["member_id"] for n in range(members)]
    finally:
        ctx.engine.dispose()
    return key, ids


def purchase_body(transaction_id: str, member_id: str) -> dict[str, Any]:
    return {"transaction_id": transaction_id, "type": "purchase", "member_id": member_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "MUG", "category": "accessories", "quantity": 1,
                       "unit_price": "10.00"}]}


def unavailable_problems(response: httpx.Response) -> list[str]:
    """What is wrong with a 503 for an unavailable database, if anything."""
    problems = []
    if "Retry-After" not in response.headers or not response.headers["Retry-After"].isdigit():
        problems.append(f"no Retry-After: {dict(response.headers)}")
    try:
        body = response.json()
    except ValueError:
        return [*problems, f"not JSON: {response.text[:200]}"]
    if set(body) != {"code", "message", "details"} or body["code"] != "database_unavailable":
        problems.append(f"not the error shape: {body}")
    return problems


@dataclass
class Sent:
    """One request a till sent: the phase it was sent in (empty when a phase ended while it
    was on its way), when (monotonic), its status and duration."""

    phase: str
    started: float
    seconds: float
    status: int | str
    transaction_id: str
    problems: list[str] = field(default_factory=list)


class Tills:
    """Tills sending purchases through the service until stopped; each sends a purchase again
    after a 503 (after `pause` seconds) until it is acknowledged."""

    def __init__(self, base: str, key: str, members: list[str], *, pause: float = 0.2) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {key}"}
        self.members = members
        self.pause = pause
        self.phase = "start"
        self.sent: list[Sent] = []
        self.acknowledged: dict[str, int] = {}  # transaction id: points earned
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._till, args=(member,), daemon=True)
                         for member in members]

    def start(self) -> Tills:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def set_phase(self, phase: str) -> None:
        """Name what the requests sent from now on are sent during."""
        self.phase = phase

    def _till(self, member_id: str) -> None:
        number = 0
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=60) as client:
            body = purchase_body(f"T-{member_id}-{number}", member_id)
            while not self._stop.is_set():
                if self._send(client, body):
                    number += 1
                    body = purchase_body(f"T-{member_id}-{number}", member_id)
                else:  # the same purchase again, byte for byte
                    self._stop.wait(self.pause)

    def _send(self, client: httpx.Client, body: dict[str, Any]) -> bool:
        """Send one purchase; True once it is acknowledged."""
        transaction_id = body["transaction_id"]
        phase, started = self.phase, time.monotonic()
        problems: list[str] = []
        try:
            response = client.post("/api/v1/transactions", json=body)
            status: int | str = response.status_code
        except httpx.TransportError as error:
            status, response = type(error).__name__, None
        if response is not None and status in (200, 201):
            with self._lock:
                self.acknowledged[transaction_id] = response.json()["points"]["earned"]
        elif response is not None and status == 503:
            problems = unavailable_problems(response)
        elif response is not None:
            problems = [f"{status}: {response.text[:300]}"]
        within = phase if self.phase == phase else ""
        with self._lock:
            self.sent.append(Sent(within, started, time.monotonic() - started, status,
                                  transaction_id, problems))
        return status in (200, 201)


def recorded_points(database_url: str) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Straight from the database: points each purchase recorded, points its ledger entries
    earned, and every ledger invariant broken."""
    ctx: ServiceContext = build_context(Settings(database_url=database_url,
                                                 rules_dir=str(RULES_DIR)))
    x, e = t.transactions.c, t.ledger_entries.c
    try:
        with ctx.engine.connect() as conn:
            recorded = dict(conn.execute(select(x.transaction_id, x.points_earned)).all())
            earned = dict(conn.execute(
                select(e.source_id, func.sum(e.points)).where(e.kind == "earn")
                .group_by(e.source_id)).all())
        problems = verify_ledger(ctx)
    finally:
        ctx.engine.dispose()
    return recorded, {k: int(v) for k, v in earned.items()}, problems


def lost_and_doubled(acknowledged: dict[str, int], recorded: dict[str, int],
                     earned: dict[str, int]) -> tuple[list[str], list[str]]:
    """Acknowledged purchases missing (or short) from the database, and those counted more
    than once."""
    lost = [tx for tx, points in acknowledged.items()
            if tx not in recorded or earned.get(tx, 0) < points]
    doubled = [tx for tx, points in acknowledged.items()
               if recorded.get(tx, points) > points or earned.get(tx, 0) > points]
    return lost, doubled
