"""The API over the real services and a real database: status codes and replays end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from loyalty import engine as rule_engine
from loyalty.api.idempotency import REPLAY_HEADER
from tests.api.test_auth import PURCHASE

Auth = Callable[[str], dict[str, str]]
RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

needs_rules = pytest.mark.skipif(
    not hasattr(rule_engine, "build_rulebook") or not any(RULES_DIR.glob("*.y*ml")),
    reason="the rule engine or the bundled rule files are not available",
)


def test_an_unknown_member_is_404(client: FlaskClient, auth: Auth) -> None:
    for path in ("/api/v1/members/M-NOBODY", "/api/v1/members/M-NOBODY/ledger"):
        response = client.get(path, headers=auth("pos"))
        assert response.status_code == 404
        assert response.json["code"] == "unknown_member"


def test_an_unknown_rules_version_is_404(client: FlaskClient, auth: Auth) -> None:
    response = client.get("/api/v1/rules/versions/999", headers=auth("marketing"))
    assert response.status_code == 404
    assert response.json["code"] == "unknown_rules_version"


@needs_rules
def test_enrolling_the_same_member_twice_is_409(client: FlaskClient, auth: Auth) -> None:
    body = {"member_id": "M-1001", "name": "Ann", "email": "ann@example.com"}
    created = client.post("/api/v1/members", json=body, headers=auth("pos"))
    assert created.status_code == 201, created.json
    assert created.json["member_id"] == "M-1001"
    again = client.post("/api/v1/members", json={"email": "ANN@example.com"},
                        headers=auth("pos"))
    assert again.status_code == 409
    assert again.json["code"] == "member_exists"


@needs_rules
def test_a_purchase_is_recorded_once_and_replayed(client: FlaskClient, auth: Auth) -> None:
    client.post("/api/v1/members", json={"member_id": "M-1001"}, headers=auth("pos"))
    dry = client.post("/api/v1/transactions?dry_run=true", json=PURCHASE, headers=auth("pos"))
    assert dry.status_code == 200, dry.json
    first = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert first.status_code == 201, first.json
    assert first.json["transaction_id"] == "T-1"
    assert set(first.json["balance"]) >= {"available", "pending"}
    replay = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert (replay.status_code, replay.json) == (first.status_code, first.json)
    assert replay.headers[REPLAY_HEADER] == "true"
    changed = {**PURCHASE, "store_id": "S99"}
    conflict = client.post("/api/v1/transactions", json=changed, headers=auth("pos"))
    assert conflict.status_code == 409
    assert conflict.json["code"] == "idempotency_conflict"
    ledger = client.get("/api/v1/members/M-1001/ledger?limit=1", headers=auth("pos"))
    assert ledger.status_code == 200
    assert len(ledger.json["entries"]) <= 1
