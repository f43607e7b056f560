"""Database outages under the real service (gunicorn, several workers): it starts without its
database, answers 503 with Retry-After in the JSON error shape while the database is away or
hung (in seconds, never a 500), and carries on by itself when it returns, with every
acknowledged purchase recorded exactly once. PostgreSQL is reached through a proxy the test
controls; on SQLite the database file or its log files are made read-only."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from loyalty import create_app
from loyalty.store.db import make_engine
from loyalty.store.deferred_schema import RETRY_SECONDS
from loyalty.store.migrate import current
from loyalty.store.postgres import ANSWER_GRACE_SECONDS
from tests.conftest import RULES_DIR, Reliability, on_postgres
from tests.integration.outage_proxy import DOWN, OutageProxy
from tests.integration.outage_service import (
    Tills,
    can_drop_override,
    lost_and_doubled,
    needs_dropped_override,
    prepared,
    purchase_body,
    recorded_points,
    serving,
    unavailable_problems,
)

CONNECT_TIMEOUT = 2  # seconds (PostgreSQL's least)
STATEMENT_TIMEOUT = 2.0  # seconds; a silent server is given up ANSWER_GRACE_SECONDS later
TIMEOUTS = {"LOYALTY_DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT),
            "LOYALTY_DB_STATEMENT_TIMEOUT_SECONDS": str(STATEMENT_TIMEOUT)}
#: The longest a worker may spend on a request while the database hangs: a pooled connection
#: given up (statement timeout and grace), then a new one that is never accepted (connect
#: timeout).
HUNG_ANSWER_SECONDS = STATEMENT_TIMEOUT + ANSWER_GRACE_SECONDS + CONNECT_TIMEOUT
#: Seconds added to every bound for a busy machine.
MARGIN = 4.0
WORKERS = 3


def _through_proxy(database_url: str, proxy: OutageProxy) -> str:
    return make_url(database_url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


def _wait_until_ready(base: str, within: float) -> float:
    """Seconds until `/ready` answers 200 (it is asked every 0.2 s)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if httpx.get(f"{base}/ready", timeout=30).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not ready within {within} s")


def _ride_out(database_url: str, log: Path, *, cycles: int, tills: int,
              seconds: dict[str, float]) -> dict[str, int]:
    """Start the service with the database down, bring it back, then `cycles` times take it
    down, back, hung and back under traffic; check every request and the database after.
    With more tills than workers a till also waits for a worker: its answer may take a
    worker's longest for each till ahead of it."""
    key, members = prepared(database_url, tills)
    url = make_url(database_url)
    proxy = OutageProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    probes = 0
    try:
        proxy.down()
        with serving(_through_proxy(database_url, proxy), log, workers=WORKERS,
                     extra_env=TIMEOUTS) as served:
            headers = {"Authorization": f"Bearer {key}"}
            assert httpx.get(f"{served.base}/health", timeout=30).status_code == 200
            ready = httpx.get(f"{served.base}/ready", timeout=30)
            refused = httpx.post(f"{served.base}/api/v1/transactions", headers=headers,
                                 json=purchase_body("T-early", members[0]), timeout=30)
            probes += 3
            assert ready.status_code == 503 and ready.headers["Retry-After"].isdigit()
            assert refused.status_code == 503 and unavailable_problems(refused) == []

            proxy.forward()
            _wait_until_ready(served.base, within=30)
            time.sleep(RETRY_SECONDS + 0.2)  # every worker has looked again by then
            till = Tills(served.base, key, members).start()
            try:
                for cycle in range(cycles):
                    for phase, act in (("up", proxy.forward), ("down", proxy.down),
                                       ("back", proxy.forward), ("hung", proxy.hang),
                                       ("back after hung", proxy.forward)):
                        till.set_phase("switching")
                        act()
                        till.set_phase(f"{phase} {cycle}")
                        time.sleep(seconds[phase])
            finally:
                till.stop()
            assert served.process.poll() is None, served.log_text()[-3000:]
            assert served.booted_workers() == served.workers, "a worker died and was replaced"
    finally:
        proxy.stop()

    sent = till.sent
    wrong = [s for s in sent if s.problems or s.status not in (200, 201, 503)]
    assert wrong == [], wrong[:5]
    longest = HUNG_ANSWER_SECONDS * math.ceil(tills / WORKERS) + MARGIN
    slow = [s for s in sent if s.seconds > longest]
    assert slow == [], slow[:5]
    for cycle in range(cycles):
        for phase in ("up", "back", "back after hung"):
            after = [s for s in sent if s.phase == f"{phase} {cycle}"]
            refused = [s for s in after if s.status not in (200, 201)]
            assert after and refused == [], (phase, refused[:5])
        for phase in ("down", "hung"):
            during = [s for s in sent if s.phase == f"{phase} {cycle}"]
            assert any(s.status == 503 for s in during), (phase, during[:5])

    recorded, earned, problems = recorded_points(database_url)
    lost, doubled = lost_and_doubled(till.acknowledged, recorded, earned)
    assert problems == []
    assert lost == [] and doubled == []
    assert "T-early" not in recorded  # refused while away, never sent again
    return {"operations": len(sent) + probes, "faults": proxy.faults, "lost": len(lost),
            "doubled": len(doubled)}


SHORT = {"up": 1.5, "down": 3.0, "back": 2.0, "hung": 7.0, "back after hung": 2.5}


@pytest.mark.postgres_only
def test_the_service_rides_out_a_database_that_is_down_hung_and_back(
    database_url: str, tmp_path: Path, reliability: Reliability
) -> None:
    figures = _ride_out(database_url, tmp_path / "gunicorn.log", cycles=1, tills=WORKERS,
                        seconds=SHORT)
    reliability.record(**figures)


@pytest.mark.slow
@pytest.mark.postgres_only
def test_the_service_rides_out_repeated_outages_under_more_tills(
    database_url: str, tmp_path: Path, reliability: Reliability
) -> None:
    long = {"up": 5.0, "down": 8.0, "back": 5.0, "hung": 12.0, "back after hung": 5.0}
    figures = _ride_out(database_url, tmp_path / "gunicorn.log", cycles=4, tills=2 * WORKERS,
                        seconds=long)
    reliability.record(**figures)


def _leave_log_files_behind(path: Path) -> None:
    """A process that wrote and was killed leaves the database's -wal and -shm files."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE api_keys SET name = name")
        conn.execute("COMMIT")
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)


def _database_files(path: Path) -> list[Path]:
    return [name for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if name.exists()]


@pytest.mark.skipif(on_postgres(), reason="a SQLite file's permissions")
@pytest.mark.skipif(needs_dropped_override() and not can_drop_override(),
                    reason="running as root without setpriv: read-only files bind nobody")
@pytest.mark.parametrize("read_only", ["database file", "log files"])
def test_a_read_only_sqlite_database_refuses_writes_and_recovers_without_a_restart(
    database_url: str, tmp_path: Path, read_only: str, reliability: Reliability
) -> None:
    key, members = prepared(database_url, 2)
    path = Path(make_url(database_url).database or "")
    if read_only == "log files":
        _leave_log_files_behind(path)
        frozen = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    else:
        frozen = [path]
    for name in frozen:
        name.chmod(0o444)
    headers = {"Authorization": f"Bearer {key}"}
    statuses: list[int] = []
    with serving(database_url, tmp_path / "gunicorn.log", workers=2,
                 drop_override=needs_dropped_override()) as served, \
            httpx.Client(base_url=served.base, headers=headers, timeout=30) as client:
        for n in range(6):  # enough to reach both workers
            refused = client.post("/api/v1/transactions",
                                  json=purchase_body(f"T-{n}", members[n % 2]))
            statuses.append(refused.status_code)
            assert refused.status_code == 503, refused.text
            assert unavailable_problems(refused) == []
            member = client.get(f"/api/v1/members/{members[n % 2]}")
            statuses.append(member.status_code)
            assert member.status_code == 503 and unavailable_problems(member) == []
        for name in _database_files(path):
            name.chmod(0o644)
        time.sleep(RETRY_SECONDS + 0.5)  # a worker that started without it looks again by then
        for n in range(12):  # both workers write again, each on its first try
            accepted = client.post("/api/v1/transactions",
                                   json=purchase_body(f"T-{n}", members[n % 2]))
            statuses.append(accepted.status_code)
            assert accepted.status_code == 201, (accepted.text, served.log_text()[-3000:])
        assert served.process.poll() is None
        assert served.booted_workers() == served.workers, "a worker died and was replaced"
    recorded, earned, problems = recorded_points(database_url)
    assert problems == []
    assert sorted(recorded) == sorted(f"T-{n}" for n in range(12))
    assert all(earned[tx] == recorded[tx] for tx in recorded)
    reliability.record(operations=len(statuses), faults=1, lost=0, doubled=0)


def _rename(source: Path, target: Path) -> None:
    source.rename(target)


#: The PostgreSQL schema a database with no tables yet is made in.
FRESH = "outage_fresh"


def _away_and_back(tmp_path: Path) -> tuple[str, Callable[[], None], Callable[[], None]]:
    """The URL of a database with no schema yet that cannot be reached now, a way to bring it
    back, and a cleanup."""
    if not on_postgres():
        folder = tmp_path / "data"
        away = tmp_path / "data-not-mounted"
        away.mkdir()
        return (f"sqlite:///{folder / 'loyalty.db'}", lambda: _rename(away, folder),
                lambda: None)
    from tests.conftest import POSTGRES_URL

    url = make_url(POSTGRES_URL)
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:  # a database with no schema yet: a schema of its own
        conn.execute(text(f"DROP SCHEMA IF EXISTS {FRESH} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {FRESH}"))
    proxy = OutageProxy((url.host or "127.0.0.1", url.port or 5432), mode=DOWN).start()
    served = make_url(_through_proxy(POSTGRES_URL, proxy)).update_query_dict(
        {"options": f"-csearch_path={FRESH}"})

    def cleanup() -> None:
        proxy.stop()
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {FRESH} CASCADE"))
        engine.dispose()

    return served.render_as_string(hide_password=False), proxy.forward, cleanup


def test_an_app_started_while_the_database_is_away_creates_its_schema_when_it_returns(
    tmp_path: Path,
) -> None:
    url, bring_back, cleanup = _away_and_back(tmp_path)
    try:
        app = create_app({"database_url": url, "rules_dir": str(RULES_DIR),
                          "db_connect_timeout_seconds": CONNECT_TIMEOUT})
        client = app.test_client()
        assert client.get("/health").status_code == 200
        away = client.get("/ready")
        assert away.status_code == 503 and away.headers["Retry-After"].isdigit()
        assert away.json["checks"]["database"].startswith("unreachable")
        listing = client.get("/api/v1/members/M-1", headers={"Authorization": "Bearer x"})
        assert listing.status_code == 503 and listing.json["code"] == "database_unavailable"
        bring_back()
        deadline = time.monotonic() + 10
        while (ready := client.get("/ready")).status_code != 200:
            assert time.monotonic() < deadline, ready.json
            time.sleep(0.2)
        assert ready.json["checks"]["rules"] == "version 1 in force"
        assert current(app.extensions["loyalty"].engine) is not None
        assert client.get("/api/v1/members/M-1").status_code == 401  # the usual answer
        app.extensions["loyalty"].engine.dispose()
    finally:
        cleanup()


@contextmanager
def _held_by_another_program(database_url: str, member_id: str) -> Iterator[None]:
    """Another program holds what a purchase for `member_id` must write: the member's row on
    PostgreSQL, the write lock of the whole file on SQLite."""
    if on_postgres():
        engine = make_engine(database_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM members WHERE member_id = :id FOR UPDATE"),
                         {"id": member_id})
            yield
            conn.rollback()
        engine.dispose()
        return
    conn = sqlite3.connect(make_url(database_url).database or "", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_purchase_held_up_by_another_program_is_answered_503_after_the_statement_timeout(
    database_url: str, reliability: Reliability
) -> None:
    key, members = prepared(database_url, 1)
    app = create_app({"database_url": database_url, "rules_dir": str(RULES_DIR),
                      "db_statement_timeout_seconds": 1.0, "max_retries": 1})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    client.get(f"/api/v1/members/{members[0]}", headers=headers)  # the rules and key are read
    body = purchase_body("T-held", members[0])
    with _held_by_another_program(database_url, members[0]):
        started = time.monotonic()
        held = client.post("/api/v1/transactions", json=body, headers=headers)
        seconds = time.monotonic() - started
    assert held.status_code == 503 and held.json["code"] == "database_unavailable"
    assert held.headers["Retry-After"].isdigit()
    assert 1.0 <= seconds < 1.0 * 2 + MARGIN  # one timeout per try: the try and one retry
    again = client.post("/api/v1/transactions", json=body, headers=headers)
    assert again.status_code == 201, again.json
    app.extensions["loyalty"].engine.dispose()
    recorded, earned, problems = recorded_points(database_url)
    assert recorded == {"T-held": 10} and earned["T-held"] == 10 and problems == []
    reliability.record(operations=3, faults=1, lost=0, doubled=0)
