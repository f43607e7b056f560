"""Steps about the database going away and coming back, with the service started in this
process. Away means: on SQLite, the folder of the database file is not there yet (a disk not
mounted); on PostgreSQL, a proxy between the service and the database refuses connections."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pytest_bdd import given, parsers, then, when
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from loyalty import create_app
from loyalty.store import tables as t
from loyalty.store.db import make_engine
from tests.conftest import RULES_DIR, on_postgres
from tests.integration.outage_proxy import DOWN, OutageProxy
from tests.integration.outage_service import prepared

#: A till waits at most this long for its answer while the database is away (seconds).
ANSWER_SECONDS = 5.0


@dataclass
class Outage:
    """A database that is away, the service started without it, and what the till did."""

    served_url: str  # what the service is given
    stored_url: str  # where the test looks at what is recorded
    bring_back: Callable[[], None]
    key: str
    members: dict[str, str]
    app: Flask | None = None
    last: Any = None
    last_seconds: float = 0.0
    purchase: dict[str, Any] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def send(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        assert self.app is not None, "the service has not started"
        started = time.monotonic()
        self.last = self.app.test_client().open(url, method=method, json=body,
                                                headers=self.headers)
        self.last_seconds = time.monotonic() - started
        return self.last

    def recorded(self, transaction_id: str) -> tuple[int, int]:
        """How many times the purchase is recorded, and the points its entries earned."""
        engine = make_engine(self.stored_url)
        x, e = t.transactions.c, t.ledger_entries.c
        try:
            with engine.connect() as conn:
                times = conn.execute(select(func.count()).where(
                    x.transaction_id == transaction_id)).scalar_one()
                points = conn.execute(select(func.coalesce(func.sum(e.points), 0)).where(
                    e.source_id == transaction_id, e.kind == "earn")).scalar_one()
        finally:
            engine.dispose()
        return int(times), int(points)


@pytest.fixture
def outage(database_url: str, tmp_path: Path) -> Iterator[dict[str, Outage]]:
    """Holds the scenario's `Outage`, and undoes it afterwards."""
    held: dict[str, Outage] = {}
    yield held
    if "it" in held:
        it = held["it"]
        if it.app is not None:
            it.app.extensions["loyalty"].engine.dispose()
        for cleanup in reversed(it.cleanups):
            cleanup()


def _away_on_sqlite(database_url: str, tmp_path: Path, name: str) -> Outage:
    mounted, unmounted = tmp_path / "data", tmp_path / "disk-not-mounted"
    unmounted.mkdir()
    shutil.copyfile(make_url(database_url).database or "", unmounted / "loyalty.db")
    key, members = prepared(f"sqlite:///{unmounted / 'loyalty.db'}", 1)
    outage = Outage(served_url=f"sqlite:///{mounted / 'loyalty.db'}",
                    stored_url=f"sqlite:///{unmounted / 'loyalty.db'}",
                    bring_back=lambda: None, key=key, members={name: members[0]})

    def mount() -> None:
        unmounted.rename(mounted)
        outage.stored_url = outage.served_url

    outage.bring_back = mount
    return outage


def _away_on_postgres(database_url: str, name: str) -> Outage:
    key, members = prepared(database_url, 1)
    url = make_url(database_url)
    proxy = OutageProxy((url.host or "127.0.0.1", url.port or 5432), mode=DOWN).start()
    served = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    return Outage(served_url=served, stored_url=database_url, bring_back=proxy.forward,
                  key=key, members={name: members[0]}, cleanups=[proxy.stop])


@given(parsers.parse("{name} is a member"))
def a_member(outage: dict[str, Outage], database_url: str, tmp_path: Path, name: str) -> None:
    outage["it"] = (_away_on_postgres(database_url, name) if on_postgres()
                    else _away_on_sqlite(database_url, tmp_path, name))


@given("the service started while its database was away")
def started_while_away(outage: dict[str, Outage]) -> None:
    it = outage["it"]
    it.app = create_app({"database_url": it.served_url, "rules_dir": str(RULES_DIR),
                         "db_connect_timeout_seconds": 2, "key_cache_seconds": 0})
    assert it.app.test_client().get("/health").status_code == 200


def _purchase(it: Outage, name: str, amount: str) -> dict[str, Any]:
    return {"transaction_id": f"S12-{len(it.members)}-{amount}", "type": "purchase",
            "member_id": it.members[name], "occurred_at": datetime.now(UTC).isoformat(),
            "store_id": "S12", "currency": "CNY",
            "lines": [{"sku": "MUG-1", "category": "accessories", "quantity": 1,
                       "unit_price": amount}]}


@when(parsers.parse("the till records a purchase of {amount} for {name}"))
@given(parsers.parse("the till was told to try again shortly with a purchase of {amount} "
                     "for {name}"))
def till_records(outage: dict[str, Outage], amount: str, name: str) -> None:
    it = outage["it"]
    it.purchase = _purchase(it, name, amount)
    it.send("POST", "/api/v1/transactions", it.purchase)


@then("the till is told to try again in a few seconds")
def told_to_try_again(outage: dict[str, Outage]) -> None:
    it = outage["it"]
    assert it.last.status_code == 503, it.last.get_json()
    assert it.last.headers["Retry-After"].isdigit()
    assert int(it.last.headers["Retry-After"]) <= 10
    assert it.last.get_json()["code"] == "database_unavailable"
    assert set(it.last.get_json()) == {"code", "message", "details"}
    assert it.last_seconds < ANSWER_SECONDS


@then("the service says it is alive but not ready")
def alive_not_ready(outage: dict[str, Outage]) -> None:
    it = outage["it"]
    assert it.send("GET", "/health").status_code == 200
    ready = it.send("GET", "/ready")
    assert ready.status_code == 503 and ready.headers["Retry-After"].isdigit()
    assert ready.get_json()["checks"]["database"].startswith("unreachable")


@then("nothing of that purchase is recorded")
def nothing_recorded(outage: dict[str, Outage]) -> None:
    it = outage["it"]
    assert it.recorded(it.purchase["transaction_id"]) == (0, 0)


@when("the database returns")
def database_returns(outage: dict[str, Outage]) -> None:
    outage["it"].bring_back()


@then("the service is ready again within a few seconds, without a restart")
def ready_again(outage: dict[str, Outage]) -> None:
    it = outage["it"]
    deadline = time.monotonic() + 10
    while it.send("GET", "/ready").status_code != 200:
        assert time.monotonic() < deadline, it.last.get_json()
        time.sleep(0.2)


@then("the purchase goes through when the till sends it again")
def goes_through(outage: dict[str, Outage]) -> None:
    it = outage["it"]
    response = it.send("POST", "/api/v1/transactions", it.purchase)
    assert response.status_code == 201, response.get_json()


@then(parsers.parse("the purchase is recorded once, with its {points:d} points for {name}"))
def recorded_once(outage: dict[str, Outage], points: int, name: str) -> None:
    it = outage["it"]
    assert it.recorded(it.purchase["transaction_id"]) == (1, points)
    member = it.send("GET", f"/api/v1/members/{it.members[name]}")
    assert member.status_code == 200 and member.get_json()["points"]["pending"] == points
