"""The caches at their production settings: a verified key is trusted for
`LOYALTY_KEY_CACHE_SECONDS` without a lookup, and a worker looks for a newly activated rules
version every `LOYALTY_RULES_REFRESH_SECONDS`. Both windows are read from the README, and time
is moved by hand on the monotonic clock the caches read, so the tests run at the real windows
without waiting them out (one slow variant waits them out on the real clock)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loyalty import create_app
from loyalty.config import Settings
from loyalty.engine import read_rule_dir
from loyalty.services import keys, rulebooks
from loyalty.services.context import ServiceContext
from loyalty.services.keys import create_key
from tests.conftest import ROOT, RULES_DIR
from tests.integration.helpers import THANK_YOU


def documented(variable: str) -> float:
    """The default of a `LOYALTY_*` setting, as the README's settings table gives it."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"^\| `{variable}` \| `([0-9.]+)` \|", readme, re.MULTILINE)
    assert found, f"{variable} is not in the README's settings table"
    return float(found.group(1))


KEY_WINDOW = documented("LOYALTY_KEY_CACHE_SECONDS")
RULES_WINDOW = documented("LOYALTY_RULES_REFRESH_SECONDS")
JUST_UNDER = 2**-10  # exact in binary: the clock lands exactly on a window's end


class Clock:
    """A monotonic clock that moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The clock the key cache and the rule book provider read, under the test's hand."""
    hand = Clock()
    monkeypatch.setattr(keys, "time", hand)
    monkeypatch.setattr(rulebooks, "time", hand)
    return hand


def serving(database_url: str) -> Flask:
    """An app at the production windows, as `loyalty serve` builds one per worker."""
    app = create_app({"database_url": database_url, "rules_dir": str(RULES_DIR),
                      "rules_refresh_seconds": RULES_WINDOW, "key_cache_seconds": KEY_WINDOW})
    app.config["TESTING"] = True
    return app


@pytest.fixture
def workers(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two app instances on one database, as two worker processes of one service are."""
    first, second = serving(database_url), serving(database_url)
    yield first, second
    for app in (first, second):
        app.extensions["loyalty"].engine.dispose()


def context(app: Flask) -> ServiceContext:
    ctx: ServiceContext = app.extensions["loyalty"]
    return ctx


def bearer(app: Flask, role: str) -> tuple[str, dict[str, str]]:
    """A new key's id and the headers that present it."""
    token = create_key(context(app), role, f"test-{role}")[0]
    return token.split("_")[1], {"Authorization": f"Bearer {token}"}


def revoked_elsewhere(app: Flask, key_id: str) -> None:
    """The row `loyalty keys revoke` writes, written by another instance: no cache of this
    process is told (the command only clears the cache of its own process)."""
    ctx = context(app)
    with ctx.uow() as uow:
        assert uow.programme.revoke_key(key_id, ctx.clock()) == 1
        uow.commit()


def refused(response: Any) -> bool:
    return bool(response.status_code == 401 and response.json["code"] == "unauthorized")


def buy_a_mug(client: FlaskClient, headers: dict[str, str], number: int) -> dict[str, Any]:
    """A purchase of 100.00, and the receipt: its points and the rules version behind them."""
    client.post("/api/v1/members", json={"member_id": "M-1001"}, headers=headers)
    response = client.post("/api/v1/transactions", headers=headers, json={
        "transaction_id": f"T-{number}", "type": "purchase", "member_id": "M-1001",
        "occurred_at": "2026-11-20T14:03:00+08:00",
        "lines": [{"sku": "MUG", "category": "homeware", "quantity": 1, "unit_price": "100.00"}],
    })
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return {"earned": body["points"]["earned"],
            "versions": sorted({d["ruleset_version"] for d in body["decisions"]})}


def with_thank_you() -> dict[str, str]:
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].rstrip() + "\n" + THANK_YOU
    return files


def test_the_documented_windows_are_the_defaults() -> None:
    assert (KEY_WINDOW, RULES_WINDOW) == (5.0, 2.0)
    assert (Settings().key_cache_seconds, Settings().rules_refresh_seconds) == (
        KEY_WINDOW, RULES_WINDOW)


def test_a_key_revoked_elsewhere_is_trusted_to_the_end_of_its_window_and_refused_after(
    workers: tuple[Flask, Flask], clock: Clock
) -> None:
    serving_app, other = workers
    key_id, headers = bearer(serving_app, "pos")
    client = serving_app.test_client()
    assert client.get("/api/v1/rewards", headers=headers).status_code == 200  # verified now
    clock.advance(1)
    revoked_elsewhere(other, key_id)
    assert refused(other.test_client().get("/api/v1/rewards", headers=headers))
    clock.advance(KEY_WINDOW - 1 - JUST_UNDER)
    assert client.get("/api/v1/rewards", headers=headers).status_code == 200  # the cache is on
    clock.advance(2 * JUST_UNDER)
    assert refused(client.get("/api/v1/rewards", headers=headers))
    clock.advance(KEY_WINDOW)
    assert refused(client.get("/api/v1/rewards", headers=headers))  # and stays refused


def test_a_key_revoked_in_this_process_is_refused_at_once(
    workers: tuple[Flask, Flask], clock: Clock
) -> None:
    serving_app, _ = workers
    key_id, headers = bearer(serving_app, "pos")
    client = serving_app.test_client()
    assert client.get("/api/v1/rewards", headers=headers).status_code == 200
    assert keys.revoke_key(context(serving_app), key_id) is True
    assert refused(client.get("/api/v1/rewards", headers=headers))


def compiled(app: Flask, version: int) -> None:
    """Wait (on the real clock, at most ten seconds) until the app's worker has the book of
    `version`: its refresher compiles it in the background."""
    deadline = time.perf_counter() + 10
    while version not in context(app).rules.compiled_versions:
        assert time.perf_counter() < deadline, f"version {version} was not compiled"
        time.sleep(0.02)


def test_a_version_activated_by_another_instance_is_used_within_the_refresh_window(
    workers: tuple[Flask, Flask], clock: Clock
) -> None:
    """The worker's refresher looks every half window; the new version is compiled there, in
    the background, and used from then on: no till request compiles it."""
    serving_app, other = workers
    _, till = bearer(serving_app, "pos")
    _, admin = bearer(other, "admin")
    client = serving_app.test_client()
    assert buy_a_mug(client, till, 1) == {"earned": 100, "versions": ["1"]}  # looked just now
    clock.advance(0.5)
    activated = other.test_client().post("/api/v1/rules/activate",
                                         json={"files": with_thank_you(), "reason": "thanks"},
                                         headers=admin)
    assert activated.status_code == 201, activated.json
    assert buy_a_mug(other.test_client(), till, 2) == {"earned": 150, "versions": ["2"]}
    clock.advance(RULES_WINDOW / 2 - 0.5 - JUST_UNDER)
    assert buy_a_mug(client, till, 3) == {"earned": 100, "versions": ["1"]}  # the cache is on
    clock.advance(JUST_UNDER)  # half a window after the last look: the refresher looks
    compiled(serving_app, 2)
    assert buy_a_mug(client, till, 4) == {"earned": 150, "versions": ["2"]}
    builds = context(serving_app).rules.builds  # the first start's activation, then ahead
    assert (builds["prepared"], builds["request"], builds["background"]) == (1, 0, 1)


@pytest.mark.slow
def test_on_the_real_clock_a_revoked_key_and_a_new_version_reach_a_running_worker(
    workers: tuple[Flask, Flask]
) -> None:
    """The same promises, waited out at the production windows; the revocation is made by the
    `loyalty keys revoke` command in a process of its own."""
    serving_app, other = workers
    key_id, till = bearer(serving_app, "pos")
    _, admin = bearer(other, "admin")
    client = serving_app.test_client()
    started = time.monotonic()
    assert buy_a_mug(client, till, 1) == {"earned": 100, "versions": ["1"]}
    command = Path(sys.executable).with_name("loyalty")
    revoke = subprocess.run(
        [str(command), "keys", "revoke", key_id], capture_output=True, text=True, cwd=ROOT,
        env={"LOYALTY_DATABASE_URL": context(other).settings.database_url}, timeout=60)
    assert (revoke.returncode, revoke.stdout) == (0, f"revoked {key_id}\n"), revoke.stderr
    assert client.get("/api/v1/rewards", headers=till).status_code == 200
    assert time.monotonic() - started < KEY_WINDOW  # so that 200 came from the cache
    activated = other.test_client().post("/api/v1/rules/activate",
                                         json={"files": with_thank_you(), "reason": "thanks"},
                                         headers=admin)
    assert activated.status_code == 201, activated.json
    changed = time.monotonic()
    time.sleep(max(KEY_WINDOW - (changed - started), RULES_WINDOW) + 0.1)
    assert refused(client.get("/api/v1/rewards", headers=till))
    _, new_till = bearer(serving_app, "pos")
    assert buy_a_mug(client, new_till, 2) == {"earned": 150, "versions": ["2"]}
