"""Rule sets are compiled once per worker, outside the till's requests: a worker's refresher
compiles a version activated elsewhere, or scheduled, before requests use it; a till request
compiles nothing (the very first start is compiled by the activation of the bundled rules)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loyalty import create_app
from loyalty.engine import read_rule_dir
from loyalty.services.context import ServiceContext
from loyalty.services.keys import create_key
from loyalty.services.rulebooks import RuleBookProvider
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import THANK_YOU

REFRESH = 0.4


def serving(database_url: str) -> Flask:
    """An app as a gunicorn worker builds one: its rule books kept fresh in the background."""
    app = create_app({"database_url": database_url, "rules_dir": str(RULES_DIR),
                      "rules_refresh_seconds": REFRESH, "key_cache_seconds": 0.0})
    app.config["TESTING"] = True
    return app


@pytest.fixture
def workers(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    first, second = serving(database_url), serving(database_url)
    yield first, second
    for app in (first, second):
        app.extensions["loyalty"].engine.dispose()


def books(app: Flask) -> RuleBookProvider:
    context: ServiceContext = app.extensions["loyalty"]
    return context.rules


def bearer(app: Flask, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app.extensions['loyalty'], role, role)[0]}"}


class Till:
    """Purchases of 100.00 at one worker, each answered with the version that decided it."""

    def __init__(self, app: Flask, member_id: str = "M-1") -> None:
        self.client: FlaskClient = app.test_client()
        self.headers = bearer(app, "pos")
        self.number = 0
        self.member_id = member_id
        answer = self.client.post("/api/v1/members", json={"member_id": member_id},
                                  headers=self.headers)
        assert answer.status_code == 201, answer.get_json()

    def buy(self) -> tuple[str, int]:
        self.number += 1
        response = self.client.post("/api/v1/transactions", headers=self.headers, json={
            "transaction_id": f"T-{self.member_id}-{self.number}", "type": "purchase",
            "member_id": self.member_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "MUG", "category": "homeware", "quantity": 1,
                       "unit_price": "100.00"}]})
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        (version,) = {decision["ruleset_version"] for decision in body["decisions"]}
        return version, body["points"]["earned"]


def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.02)


def with_thank_you(points: int) -> dict[str, str]:
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = (files["earning.yaml"].rstrip() + "\n"
                             + THANK_YOU.replace("50", str(points)))
    return files


def test_a_version_activated_elsewhere_is_compiled_by_the_refresher_not_by_a_request(
    workers: tuple[Flask, Flask]
) -> None:
    till_worker, other = workers
    till = Till(till_worker)
    assert till.buy() == ("1", 100)
    activated = other.test_client().post(
        "/api/v1/rules/activate", headers=bearer(other, "admin"),
        json={"files": with_thank_you(50), "reason": "thanks"})
    assert activated.status_code == 201, activated.get_json()
    seen: list[tuple[str, int]] = []

    def bought_by_the_new_version() -> bool:
        seen.append(till.buy())
        return seen[-1] == ("2", 150)

    until(bought_by_the_new_version)
    assert set(seen) <= {("1", 100), ("2", 150)}  # one version or the other, never a mix
    compiled = books(till_worker).builds
    assert compiled["request"] == 0, compiled  # the first start came with the activation
    assert compiled["background"] == 1, compiled
    assert books(other).builds["prepared"] == 1  # the activation compiled it there


def test_a_scheduled_version_is_compiled_ahead_and_takes_over_at_its_instant(
    workers: tuple[Flask, Flask]
) -> None:
    till_worker, other = workers
    till = Till(till_worker)
    assert till.buy()[0] == "1"
    start = datetime.now(UTC) + timedelta(seconds=REFRESH + 1 + 4)  # after the check (a few s)
    scheduled = other.test_client().post(
        "/api/v1/rules/activate", headers=bearer(other, "admin"),
        json={"files": with_thank_you(70), "reason": "thanks later", "at": start.isoformat()})
    assert scheduled.status_code == 201, scheduled.get_json()
    assert datetime.now(UTC) < start - timedelta(seconds=REFRESH)
    until(lambda: 2 in books(till_worker).compiled_versions)
    assert datetime.now(UTC) < start, "compiled ahead of its instant"
    while datetime.now(UTC) < start + timedelta(seconds=0.5):
        till.buy()
    x = t.transactions.c
    with till_worker.extensions["loyalty"].engine.connect() as conn:
        rows = conn.execute(select(x.recorded_at, x.ruleset_version)).all()
    assert {r.ruleset_version for r in rows if r.recorded_at < start} == {"1"}
    assert {r.ruleset_version for r in rows if r.recorded_at >= start} == {"2"}
    assert books(till_worker).builds["request"] == 0


def test_a_forked_worker_starts_its_own_refresher_and_compiles_ahead_there(
    workers: tuple[Flask, Flask]
) -> None:
    """gunicorn forks its workers: a copy of a provider in use (its lock possibly held by the
    refresher at the fork) starts a refresher of its own in the child."""
    parent, other = workers
    Till(parent).buy()
    provider = books(parent)
    assert provider.refreshing_here
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the forked worker: report what it saw, then leave without cleanup
        status = 1  # 1: failed; 2: no refresher of its own; 3: a request compiled
        try:
            os.close(reader)
            assert not provider.refreshing_here  # the parent's thread was not copied
            Till(parent, "M-2").buy()
            activated = other.test_client().post(
                "/api/v1/rules/activate", headers=bearer(other, "admin"),
                json={"files": with_thank_you(30), "reason": "from the fork"})
            assert activated.status_code == 201
            until(lambda: 2 in provider.compiled_versions)
            status = (2 if not provider.refreshing_here
                      else 3 if provider.builds["request"] else 0)
        finally:
            os.write(writer, bytes([status]))
            os._exit(0)
    os.close(writer)
    answer = os.read(reader, 1)
    os.waitpid(child, 0)
    assert answer == bytes([0])


def test_a_version_scheduled_by_a_worker_that_never_compiled_the_rules_in_force_waits_its_instant(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose only rule book is the one it compiled for a schedule (its refresher has
    not yet compiled the version in force) still decides by the version in force until the
    schedule's instant."""
    from dataclasses import replace

    import loyalty.services.rulebooks as rulebooks
    from loyalty.services.rules import activate

    now = datetime.now(UTC)
    assert ctx.book(now).version == "1"  # the bundled rules are in force
    monkeypatch.setattr(rulebooks, "_refresh_loop", lambda *_: None)  # a refresher behind
    settings = replace(ctx.settings, rules_refresh_seconds=60.0)
    fresh = RuleBookProvider(ctx.engine, settings, background=True)  # a new worker
    worker = replace(ctx, settings=settings, rules=fresh, clock=lambda: now)
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].rstrip() + "\n" + THANK_YOU
    start = now + timedelta(minutes=10)
    assert activate(worker, files, "Mei", reason="thank-you", at=start)["status"] == "scheduled"
    assert fresh.at(now + timedelta(seconds=1)).version == "1"
    assert fresh.at(start - timedelta(microseconds=1)).version == "1"
    assert fresh.at(start).version == "2"
    assert fresh.builds["request"] == 1  # the version in force, which no one had compiled
