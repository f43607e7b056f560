"""A version scheduled a few seconds ahead takes over at that instant in every serving process:
purchases posted across the instant to two gunicorn workers are each decided by the version in
force when they were processed, and no purchase mixes the two. The lead counts from when the
activation is stored, after the new set is checked and rehearsed (a second or two)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from loyalty.config import Settings
from loyalty.engine import read_rule_dir
from loyalty.services.keys import create_key
from loyalty.store import tables as t
from loyalty.store.db import make_engine
from tests.conftest import RULES_DIR
from tests.integration.helpers import THANK_YOU
from tests.integration.served import free_port

REFRESH = 0.5  # seconds; the minimum lead of a schedule is this plus one second
LEAD = timedelta(seconds=15)  # the activation's check and rehearsal come first (slow when busy)
TILLS = 4
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Two gunicorn workers serving the test database; their access log names each request's
    process."""
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "LOYALTY_DATABASE_URL": database_url,
           "LOYALTY_RULES_DIR": str(RULES_DIR), "LOYALTY_RULES_REFRESH_SECONDS": str(REFRESH),
           "LOYALTY_KEY_CACHE_SECONDS": "0"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--access-logfile", str(log), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s",
         "loyalty:create_app()"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield base, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _purchase(client: httpx.Client, member_id: str, number: int) -> dict[str, Any]:
    body = {"transaction_id": f"T-{member_id}-{number}", "type": "purchase",
            "member_id": member_id, "occurred_at": datetime.now(UTC).isoformat(),
            "lines": [{"sku": "MUG", "category": "accessories", "quantity": 1,
                       "unit_price": "10.00"}]}
    response = client.post("/api/v1/transactions", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_version_scheduled_seconds_ahead_takes_over_at_that_instant_in_every_worker(
    served: tuple[str, Path], database_url: str
) -> None:
    base, log = served
    settings = Settings(database_url=database_url, rules_dir=str(RULES_DIR),
                        rules_refresh_seconds=REFRESH)
    from loyalty.app import build_context

    ctx = build_context(settings)
    till = {"Authorization": f"Bearer {create_key(ctx, 'pos', 'till')[0]}"}
    marketing = {"Authorization": f"Bearer {create_key(ctx, 'marketing', 'Mei')[0]}"}
    members = []
    with httpx.Client(base_url=base, headers=till, timeout=30) as client:
        for n in range(TILLS):
            enrolled = client.post("/api/v1/members", json={"name": f"Till customer {n}"})
            assert enrolled.status_code == 201, enrolled.text
            members.append(enrolled.json()["member_id"])
        for member_id in members:  # every worker has read the timeline before the schedule
            _purchase(client, member_id, 0)

    files = {**read_rule_dir(RULES_DIR)}
    files["earning.yaml"] = files["earning.yaml"].rstrip() + "\n" + THANK_YOU
    start = datetime.now(UTC) + LEAD
    scheduled = httpx.post(f"{base}/api/v1/rules/activate", headers=marketing, timeout=30,
                           json={"files": files, "reason": "thank-you from 15 s on",
                                 "at": start.isoformat()})
    assert scheduled.status_code == 201, scheduled.text
    version = str(scheduled.json()["version"])
    assert scheduled.json()["status"] == "scheduled"

    stop = start + timedelta(seconds=1.5)
    errors: list[BaseException] = []

    def till_posting(member_id: str) -> None:
        number = 1
        try:
            with httpx.Client(base_url=base, headers=till, timeout=30) as client:
                while datetime.now(UTC) < stop:
                    _purchase(client, member_id, number)
                    number += 1
        except BaseException as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=till_posting, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    engine = make_engine(database_url)
    x, e = t.transactions.c, t.ledger_entries.c
    with engine.connect() as conn:
        rows = conn.execute(select(x.transaction_id, x.recorded_at, x.ruleset_version,
                                   x.points_earned)).all()
        versions = conn.execute(select(t.rule_versions.c.version, t.rule_versions.c.activated_at,
                                       t.rule_versions.c.effective_at)).all()
        mixed = conn.execute(
            select(e.source_id).where(e.kind == "earn").group_by(e.source_id)
            .having(func.count(func.distinct(e.ruleset_version)) > 1)).all()
    engine.dispose()
    before = [r for r in rows if r.recorded_at < start]
    after = [r for r in rows if r.recorded_at >= start]
    assert len(after) >= TILLS and len(before) > TILLS, (len(before), len(after))
    wrong = [(r.transaction_id, r.recorded_at, r.ruleset_version) for r in rows
             if r.ruleset_version != ("1" if r.recorded_at < start else version)]
    assert wrong == [], f"scheduled for {start}; versions stored: {versions}"
    assert {r.points_earned for r in before} == {10}
    assert {r.points_earned for r in after} == {60}
    assert mixed == []
    purchases_by_worker = {
        match.group(1) for match in re.finditer(r"^<(\d+)> POST /api/v1/transactions 201$",
                                                log.read_text(), re.MULTILINE)}
    assert len(purchases_by_worker) == 2, log.read_text()[:500]
