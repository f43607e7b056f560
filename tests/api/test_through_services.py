"""The API over the real services and a real database: status codes and replays end to end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta
from flask.testing import FlaskClient

from loyalty.api.idempotency import REPLAY_HEADER
from loyalty.services.context import ServiceContext
from tests.api.test_auth import PURCHASE

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)  # the moment PURCHASE happens


def test_an_unknown_member_is_404(client: FlaskClient, auth: Auth) -> None:
    for path in ("/api/v1/members/M-NOBODY", "/api/v1/members/M-NOBODY/ledger"):
        response = client.get(path, headers=auth("pos"))
        assert response.status_code == 404
        assert response.json["code"] == "unknown_member"


def test_an_unknown_rules_version_is_404(client: FlaskClient, auth: Auth) -> None:
    response = client.get("/api/v1/rules/versions/999", headers=auth("marketing"))
    assert response.status_code == 404
    assert response.json["code"] == "unknown_rules_version"


def test_enrolling_the_same_member_twice_is_409(client: FlaskClient, auth: Auth) -> None:
    body = {"member_id": "M-1001", "name": "Ann", "email": "ann@example.com"}
    created = client.post("/api/v1/members", json=body, headers=auth("pos"))
    assert created.status_code == 201, created.json
    assert created.json["member_id"] == "M-1001"
    again = client.post("/api/v1/members", json={"email": "ANN@example.com"},
                        headers=auth("pos"))
    assert again.status_code == 409
    assert again.json["code"] == "member_exists"


def test_a_purchase_is_recorded_once_and_replayed(client: FlaskClient, auth: Auth,
                                                  ctx: ServiceContext) -> None:
    ctx.clock = lambda: NOW
    joined = client.post("/api/v1/members", json={"member_id": "M-1001"}, headers=auth("pos"))
    assert joined.status_code == 201, joined.json
    dry = client.post("/api/v1/transactions?dry_run=true", json=PURCHASE, headers=auth("pos"))
    assert dry.status_code == 200, dry.json
    first = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert first.status_code == 201, first.json
    assert first.json["transaction_id"] == "T-1"
    assert first.json["points"] == {"earned": 10, "pending": 10, "clawed_back": 0}
    # the 100 welcome points and the purchase's 10 both wait out the return window, to the
    # same instant (both were earned at NOW)
    later = (NOW + timedelta(days=14)).isoformat()
    expires = {"points": 110, "expires_at": (NOW + relativedelta(months=24)).isoformat()}
    assert first.json["balance"] == {
        "available": 0, "pending": 110, "debt": 0, "next_expiry": expires,
        "becoming_available": [{"points": 110, "available_at": later}], "expiring": [expires]}
    replay = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert (replay.status_code, replay.json) == (first.status_code, first.json)
    assert replay.headers[REPLAY_HEADER] == "true"
    changed = {**PURCHASE, "store_id": "S99"}
    conflict = client.post("/api/v1/transactions", json=changed, headers=auth("pos"))
    assert conflict.status_code == 409
    assert conflict.json["code"] == "idempotency_conflict"
    ledger = client.get("/api/v1/members/M-1001/ledger?limit=1", headers=auth("pos"))
    assert ledger.status_code == 200
    (newest,) = ledger.json["entries"]
    assert (newest["kind"], newest["points"], newest["source"]) == (
        "earn", 10, {"type": "transaction", "id": "T-1"})
