"""What an operator relies on: metrics that add up across gunicorn's workers, JSON log lines
with a request id and no personal data, `loyalty serve` running its own gunicorn, settings and
database problems told in one line each, and database files only their owner can read.

The served tests run `loyalty init` and `loyalty serve` as an operator would, on a SQLite file
of their own (what they check is the processes, not the database); the in-process tests run on
the suite's database, SQLite or PostgreSQL."""

from __future__ import annotations

import io
import logging
import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.mmap_dict import MmapedDict

from loyalty import create_app
from loyalty.observability.logs import configure_logging
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from tests.conftest import RULES_DIR
from tests.integration.operations_server import ROOT, Served, environment, run
from tests.metrics_page import MetricsPage

Auth = Callable[[str], dict[str, str]]
FRIDGE = {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"}
#: A member's personal data, as a till sends it and as the service stores it.
PERSONAL = {"name": "Ann Chen", "email": "ann.chen@example.com", "phone": "+86 138 0000 0001",
            "birth_date": "1990-05-17"}
PERSONAL_FORMS = ("Ann Chen", "ann.chen@example.com", "+86 138 0000 0001", "+8613800000001",
                  "13800000001", "1990-05-17", "1990, 5, 17")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the service as `loyalty serve` runs it ------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`loyalty init` into a new data folder, a till key, then `loyalty serve` with two
    workers, with a `gunicorn` of another environment first on PATH that must not run."""
    home = tmp_path_factory.mktemp("operator")
    decoy = home / "bin"
    decoy.mkdir()
    (decoy / "gunicorn").write_text(f"#!/bin/sh\ntouch {home / 'decoy-ran'}\nexit 3\n")
    (decoy / "gunicorn").chmod(0o755)
    env = environment(
        LOYALTY_DATABASE_URL=f"sqlite:///{home / 'data' / 'loyalty.db'}",
        LOYALTY_RULES_DIR=str(RULES_DIR), LOYALTY_KEY_CACHE_SECONDS="0",
        LOYALTY_METRICS_DIR=str(home / "metrics"), LOYALTY_LOG_LEVEL="INFO",
        PATH=f"{decoy}{os.pathsep}{os.environ['PATH']}")
    init = run(["init"], env, cwd=home)
    assert init.returncode == 0, init.stderr
    created = run(["keys", "create", "--role", "pos", "--name", "till-12"], env, cwd=home)
    assert created.returncode == 0, created.stderr
    with Served(["--workers", "2"], env, cwd=home, log=home / "serve.log") as server:
        server.key = created.stdout.splitlines()[-1]
        yield server


def _till(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.key}"}


def test_serve_runs_the_gunicorn_of_its_own_environment_not_the_first_on_path(
    served: Served,
) -> None:
    assert served.get("/health").json() == {"status": "alive"}
    assert not (served.cwd / "decoy-ran").exists()
    assert len(served.worker_pids()) == 2


def _health_count(served: Served) -> float:
    page = MetricsPage(served.get("/metrics").text)
    return page.value("loyalty_http_requests_total", route="/health", method="GET",
                      status="200")


def _hit_health(served: Served, count: int, threads: int = 8) -> None:
    def worker(n: int) -> None:
        for _ in range(n):
            assert served.get("/health").status_code == 200

    pool = [threading.Thread(target=worker, args=(count // threads,)) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(120)


def test_metrics_add_up_the_requests_of_every_worker(served: Served) -> None:
    before = _health_count(served)
    _hit_health(served, 48)
    # whichever worker answers the scrape reports the whole service
    assert [_health_count(served) for _ in range(6)] == [before + 48] * 6
    # and both workers answered some of them: each counted its own in a file of its own
    answered = {path.name: _health_in(path) for path in
                (served.cwd / "metrics").glob("counter_*.db")}
    assert sum(count > 0 for count in answered.values()) >= 2, answered


def _health_in(path: Path) -> float:
    """The `/health` answers one worker's counter file holds."""
    return sum(value for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
               if key.startswith('["loyalty_http_requests", "loyalty_http_requests_total"')
               and '"/health"' in key)


def test_a_worker_that_exits_keeps_its_counts_and_drops_its_live_gauge(served: Served) -> None:
    folder = served.cwd / "metrics"
    before = _health_count(served)
    _hit_health(served, 16)
    worker = served.worker_pids()[0]
    assert (folder / f"gauge_livesum_{worker}.db").exists()
    os.kill(worker, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while (folder / f"gauge_livesum_{worker}.db").exists() or len(served.worker_pids()) < 2:
        assert time.monotonic() < deadline, sorted(path.name for path in folder.iterdir())
        time.sleep(0.2)
    assert _health_count(served) == before + 16
    page = MetricsPage(served.get("/metrics").text)
    assert page.value("loyalty_http_requests_in_progress") == 1  # the scrape itself


def test_every_line_the_server_writes_is_json_with_the_request_id(served: Served) -> None:
    response = served.get("/api/v1/rewards", headers={**_till(served),
                                                       "X-Request-Id": "till-12-0001"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "till-12-0001"
    access = served.wait_for_line(lambda line: line.get("request_id") == "till-12-0001"
                                  and line["logger"] == "gunicorn.access")
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/v1/rewards",
                                                                    200)
    lines = served.log_lines()
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line)
               for line in lines)
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers
    assert any(name.startswith("loyalty.") for name in loggers), loggers  # the app's own
    assert served.key not in served.text()


def test_a_request_id_that_is_not_sane_is_replaced(served: Served) -> None:
    response = served.get("/health", headers={"X-Request-Id": "<script>" + "x" * 300})
    generated = response.headers["X-Request-Id"]
    assert len(generated) == 32 and all(char in "0123456789abcdef" for char in generated)
    served.wait_for_line(lambda line: line.get("request_id") == generated)


def test_no_line_the_server_writes_carries_personal_data(served: Served) -> None:
    enrolled = served.post("/api/v1/members", PERSONAL, headers=_till(served))
    assert enrolled.status_code == 201, enrolled.text
    again = served.post("/api/v1/members", PERSONAL, headers=_till(served))
    assert again.status_code == 409
    served.wait_for_line(lambda line: line.get("status") == 409)
    text = served.text()
    assert [form for form in PERSONAL_FORMS if form in text] == []


def test_database_files_are_readable_by_their_owner_only(served: Served) -> None:
    assert served.post("/api/v1/members", {"email": "someone@example.com"},
                       headers=_till(served)).status_code == 201
    data = served.cwd / "data"
    files = sorted(data.iterdir())
    names = {path.name for path in files}
    assert {"loyalty.db", "loyalty.db-wal", "loyalty.db-shm", "loyalty.db.writers"} <= names
    assert {path.name: mode(path) for path in files} == {name: 0o600 for name in names}
    assert mode(data) == 0o700
    assert mode(served.cwd / "metrics") == 0o700


# -- the figures, counted in this process --------------------------------------------------


def _page(client: FlaskClient) -> MetricsPage:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return MetricsPage(response.get_data(as_text=True))


def _purchase(member: str, transaction_id: str, **extra: Any) -> dict[str, Any]:
    return {"transaction_id": transaction_id, "type": "purchase", "member_id": member,
            "occurred_at": datetime.now(UTC).isoformat(), "store_id": "S12",
            "channel": "store", "currency": "CNY", "lines": [FRIDGE], "payments": [],
            "offer_codes": [], **extra}


@pytest.fixture
def member(client: FlaskClient, auth: Auth) -> str:
    response = client.post("/api/v1/members", json={"email": "bo@example.com"},
                           headers=auth("pos"))
    assert response.status_code == 201 and response.json is not None, response.json
    member_id: str = response.json["member_id"]
    return member_id


def test_metrics_need_no_key(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 200


def test_metrics_count_purchases_points_and_clawbacks_not_replays_or_dry_runs(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    before = _page(client)
    purchase = _purchase(member, "T-1")
    assert client.post("/api/v1/transactions", json=purchase,
                       headers=auth("pos")).status_code == 201
    assert client.post("/api/v1/transactions", json=purchase,
                       headers=auth("pos")).status_code == 201  # the till resends it
    assert client.post("/api/v1/transactions?dry_run=true", json=_purchase(member, "T-2"),
                       headers=auth("pos")).status_code == 200
    returned = client.post("/api/v1/transactions", json={
        "transaction_id": "R-1", "type": "return", "member_id": member,
        "occurred_at": datetime.now(UTC).isoformat(), "original_transaction_id": "T-1",
        "lines": [FRIDGE]}, headers=auth("pos"))
    assert returned.status_code == 201, returned.json
    after = _page(client)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert grew("loyalty_transactions_total", type="purchase") == 1
    assert grew("loyalty_transactions_total", type="return") == 1
    assert grew("loyalty_points_issued_total", source="purchase") == 3999
    assert grew("loyalty_points_clawed_back_total") == 3999
    # the purchase and the dry run were evaluated; a replay is answered from what was stored
    assert grew("loyalty_rule_evaluation_seconds_count", kind="purchase") == 2
    assert grew("loyalty_http_requests_total", route="/api/v1/transactions", method="POST",
                status="201") == 3


def test_metrics_label_routes_by_template_never_by_id(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    assert client.get(f"/api/v1/members/{member}", headers=auth("pos")).status_code == 200
    assert client.get("/api/v1/members/M-404404", headers=auth("pos")).status_code == 404
    assert client.get("/no/such/page/M-1001").status_code == 404
    page = _page(client)
    routes = {labels["route"] for labels in page.labels_of("loyalty_http_requests_total")}
    assert "/api/v1/members/<member_id>" in routes and "unmatched" in routes
    assert not any(member in route or "M-404404" in route or "M-1001" in route
                   for route in routes)


def test_metrics_show_the_notifications_waiting(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    assert _page(client).value("loyalty_notifications_waiting") == 0  # no consent given
    client.post("/api/v1/members", json={"email": "cy@example.com",
                                         "consents": {"email": True}}, headers=auth("pos"))
    assert _page(client).value("loyalty_notifications_waiting") == 1  # her welcome e-mail


def test_metrics_show_how_far_the_sweep_has_got_and_when_one_last_completed(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    for email in ("cy@example.com", "di@example.com", "ed@example.com"):
        client.post("/api/v1/members", json={"email": email}, headers=auth("pos"))
    page = _page(client)
    assert page.value("loyalty_sweep_members") == 4
    assert not page.has("loyalty_sweep_last_completed_timestamp_seconds")
    as_of = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = run_sweep(ctx, as_of, shard=Shard(1, 2), batch_size=1)
    page = _page(client)
    done = first["phases"]["points"]["members"]
    assert page.value("loyalty_sweep_members_done", phase="points") == done
    assert page.value("loyalty_sweep_latest_as_of_timestamp_seconds") == as_of.timestamp()
    assert not page.has("loyalty_sweep_last_completed_timestamp_seconds")  # 1 of 2 shards
    run_sweep(ctx, as_of, shard=Shard(2, 2), batch_size=1)
    page = _page(client)
    assert page.value("loyalty_sweep_members_done", phase="calendar") == 4
    assert page.value("loyalty_sweep_last_completed_as_of_timestamp_seconds") == (
        as_of.timestamp())
    finished = page.value("loyalty_sweep_last_completed_timestamp_seconds")
    assert abs(finished - ctx.clock().timestamp()) < 600
    assert page.value("loyalty_sweep_member_visits_total", phase="points") >= 4


def test_metrics_answer_while_the_database_is_away() -> None:
    app = create_app({"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "rules_dir": str(RULES_DIR), "auto_migrate": False})
    page = _page(app.test_client())
    assert page.value("loyalty_database_reachable") == 0
    assert not page.has("loyalty_notifications_waiting")


# -- no personal data in any log line ------------------------------------------------------


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line of this process, at DEBUG, as the service writes it, for one test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream, force=True)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.parametrize("echo", [False, True], ids=["plain", "with SQL echo"])
def test_no_log_line_carries_a_members_personal_data(
    app_config: dict[str, Any], captured_logs: io.StringIO, echo: bool
) -> None:
    app = create_app({**app_config, "db_echo": echo})
    try:
        client = app.test_client()
        ctx: ServiceContext = app.extensions["loyalty"]
        from loyalty.services.keys import create_key

        till = {"Authorization": f"Bearer {create_key(ctx, 'pos', 'till-12')[0]}"}
        enrolled = client.post("/api/v1/members", json=PERSONAL, headers=till)
        assert enrolled.status_code == 201 and enrolled.json is not None, enrolled.json
        member = enrolled.json["member_id"]
        assert client.post("/api/v1/members", json=PERSONAL, headers=till).status_code == 409
        assert client.post("/api/v1/members", json={**PERSONAL, "email": "ann.chen@"},
                           headers=till).status_code == 422
        assert client.get(f"/api/v1/members/{member}", headers=till).status_code == 200
        assert client.post("/api/v1/transactions", json=_purchase(member, "T-9"),
                           headers=till).status_code == 201
        run_sweep(ctx, datetime.now(UTC) + timedelta(hours=1))
        logging.getLogger("loyalty.test").error("failed for %s", dict(PERSONAL))
    finally:
        app.extensions["loyalty"].engine.dispose()
    output = captured_logs.getvalue()
    assert len(output.splitlines()) > (50 if echo else 5)  # the service did log, a lot
    assert [form for form in PERSONAL_FORMS if form in output] == []


# -- the `loyalty` command: settings, database, serve --------------------------------------


def test_bad_settings_stop_a_command_with_one_line_each_and_no_traceback(
    tmp_path: Path,
) -> None:
    env = environment(LOYALTY_DATABASE_URL=f"sqlite:///{tmp_path / 'loyalty.db'}",
                      LOYALTY_DB_POOL_SIZE="five", LOYALTY_RULES_REFRESH_SECONDS="-2",
                      LOYALTY_FUTURE_TOLERANCE_HOURS="nan", LOYALTY_AUTO_MIGRATE="maybe")
    for args in (["keys", "list"], ["init"], ["serve"], ["rules", "check", str(RULES_DIR)]):
        result = run(args, env, cwd=tmp_path)
        assert result.returncode == 2, result
        assert sorted(result.stderr.splitlines()) == [
            "error: LOYALTY_AUTO_MIGRATE='maybe': not true or false (true/false, yes/no, "
            "on/off, 1/0)",
            "error: LOYALTY_DB_POOL_SIZE='five': not a whole number",
            "error: LOYALTY_FUTURE_TOLERANCE_HOURS=nan: not a finite number",
            "error: LOYALTY_RULES_REFRESH_SECONDS=-2: less than the minimum 0",
        ], args
    assert not (tmp_path / "loyalty.db").exists()


def test_a_mistyped_variable_is_warned_about_and_the_command_goes_on(tmp_path: Path) -> None:
    env = environment(LOYALTY_DATABSE_URL="sqlite:///elsewhere.db")
    result = run(["rules", "check", str(RULES_DIR)], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: LOYALTY_DATABSE_URL is not a setting and is ignored; did you mean "
        "LOYALTY_DATABASE_URL?"]


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    env = environment(LOYALTY_DATABASE_URL="postgresql+psycopg://loyalty:s3cret@127.0.0.1:1/x")
    result = run(["keys", "list"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(
        "error: the database at postgresql+psycopg://loyalty:***@127.0.0.1:1/x cannot be used: "
        "OperationalError: ")
    assert "s3cret" not in result.stderr


def test_a_command_run_where_there_is_no_database_creates_none(tmp_path: Path) -> None:
    env = environment()  # the default: loyalty.db in the current folder
    for args in (["keys", "list"], ["sweep", "--as-of", "today", "--quiet"],
                 ["rules", "versions"], ["serve"]):
        result = run(args, env, cwd=tmp_path)
        assert result.returncode == 1, result
        assert result.stderr == (
            f"error: no database at {tmp_path / 'loyalty.db'}: run `loyalty init` to create it "
            "there, or set LOYALTY_DATABASE_URL to the database to use\n")
    assert list(tmp_path.iterdir()) == []


def test_init_creates_the_database_and_its_folders_for_the_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "var" / "loyalty" / "loyalty.db"
    env = environment(LOYALTY_DATABASE_URL=f"sqlite:///{database}",
                      LOYALTY_RULES_DIR=str(RULES_DIR))
    result = run(["init"], env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database ready at {database}; rules version 1 active\n"
    assert (mode(tmp_path / "var"), mode(database.parent), mode(database)) == (
        0o700, 0o700, 0o600)
    listed = run(["keys", "list"], env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr


def test_a_daily_sweep_runs_as_of_today_at_a_time_of_day(tmp_path: Path) -> None:
    env = environment()
    for args, problem in (
        (["--as-of", "2026-05-01", "--every-day-at", "02:00"], "use --as-of today"),
        (["--as-of", "today", "--every-day-at", "2am"], "not a time of day as HH:MM"),
    ):
        result = run(["sweep", *args], env, cwd=tmp_path)
        assert result.returncode == 2 and problem in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_init_without_a_rule_folder_says_no_rules_are_active_and_fails(tmp_path: Path) -> None:
    database = tmp_path / "loyalty.db"
    env = environment(LOYALTY_DATABASE_URL=f"sqlite:///{database}",
                      LOYALTY_RULES_DIR=str(tmp_path / "rules"))
    result = run(["init"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == f"database ready at {database}; rules version none active\n"
    assert f"no rules are active: no rule folder at {tmp_path / 'rules'}" in result.stderr
