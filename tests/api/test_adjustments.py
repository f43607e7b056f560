"""`POST /members/{member_id}/adjustments` over the real service and database: who may adjust,
what is refused, replays, and answers that match the served document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from loyalty.api.idempotency import REPLAY_HEADER
from loyalty.services.context import ServiceContext
from tests.api.test_contract import Contract

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)
PATH = "/api/v1/members/{member_id}/adjustments"
ADJUSTMENTS = "/api/v1/members/M-1001/adjustments"
GOODWILL = {"adjustment_id": "ADJ-1", "points": 500,
            "reason": "the delivery was three days late"}


@pytest.fixture
def member(client: FlaskClient, auth: Auth, ctx: ServiceContext) -> str:
    ctx.clock = lambda: NOW
    joined = client.post("/api/v1/members", json={"member_id": "M-1001"}, headers=auth("pos"))
    assert joined.status_code == 201, joined.json
    return "M-1001"


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    return Contract(client, client.get("/api/v1/openapi.json").get_json())


def post(client: FlaskClient, headers: dict[str, str], body: dict[str, Any],
         path: str = ADJUSTMENTS) -> Any:
    return client.post(path, json=body, headers=headers)


@pytest.mark.parametrize("role", ["adjust", "admin"])
def test_a_desk_or_admin_key_adds_points_named_after_the_key(
        client: FlaskClient, auth: Auth, member: str, role: str) -> None:
    response = post(client, auth(role), GOODWILL)
    assert response.status_code == 201, response.json
    assert response.json == {
        "adjustment_id": "ADJ-1", "member_id": member, "points": 500,
        "reason": "the delivery was three days late", "actor": f"test-{role}",
        "adjusted_at": NOW.isoformat(),
        # the 100 welcome points still wait out the return window; adjusted points do not
        "balance": {"available": 500, "pending": 100, "debt": 0}}
    assert REPLAY_HEADER not in response.headers
    ledger = client.get(f"/api/v1/members/{member}/ledger", headers=auth("pos")).json
    [entry] = [e for e in ledger["entries"] if e["source"]["type"] == "adjustment"]
    assert (entry["kind"], entry["points"], entry["rule_id"], entry["actor"]) == (
        "earn", 500, "desk.adjustment", f"test-{role}")
    assert entry["reason"] == f"adjusted by test-{role}: the delivery was three days late"
    assert {e["actor"] for e in ledger["entries"] if e["source"]["type"] != "adjustment"} == {
        None}


@pytest.mark.parametrize("role", ["pos", "marketing", "marketing_lead"])
def test_tills_and_marketing_may_not_adjust(client: FlaskClient, auth: Auth, member: str,
                                            role: str) -> None:
    response = post(client, auth(role), GOODWILL)
    assert response.status_code == 403
    assert response.json["code"] == "forbidden"
    assert response.json["details"]["allowed_roles"] == ["adjust", "admin"]
    points = client.get(f"/api/v1/members/{member}", headers=auth("pos")).json["points"]
    assert points["available"] == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"reason": "   "}, "reason"), ({"reason": ""}, "reason"), ({"points": 0}, "points"),
    ({"points": 1.5}, "points"), ({"points": 10_000_001}, "points"),
    ({"points": -10_000_001}, "points"), ({"adjustment_id": " "}, "adjustment_id"),
    ({"reason": None}, "reason"), ({"colour": "blue"}, "colour"),
])
def test_a_bad_adjustment_is_422_naming_the_field(client: FlaskClient, auth: Auth, member: str,
                                                  change: dict[str, Any], field: str) -> None:
    response = post(client, auth("adjust"), {**GOODWILL, **change})
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert list(response.json["details"]["fields"]) == [field]


def test_a_reason_and_points_are_required(client: FlaskClient, auth: Auth, member: str) -> None:
    response = post(client, auth("adjust"), {"adjustment_id": "ADJ-1"})
    assert response.status_code == 422
    assert sorted(response.json["details"]["fields"]) == ["points", "reason"]


def test_an_adjustment_dated_ahead_of_the_tolerance_is_422(
        client: FlaskClient, auth: Auth, member: str) -> None:
    ahead = (NOW + timedelta(hours=25)).isoformat()
    response = post(client, auth("adjust"), {**GOODWILL, "occurred_at": ahead})
    assert response.status_code == 422
    assert list(response.json["details"]["fields"]) == ["occurred_at"]


def test_removing_more_than_available_is_422_insufficient_points(
        client: FlaskClient, auth: Auth, member: str) -> None:
    response = post(client, auth("adjust"), {**GOODWILL, "points": -1})  # 100 still pending
    assert response.status_code == 422
    assert response.json["code"] == "insufficient_points"
    assert response.json["details"] == {"required": 1, "available": 0}
    ledger = client.get(f"/api/v1/members/{member}/ledger", headers=auth("pos")).json
    assert [e for e in ledger["entries"] if e["source"]["type"] == "adjustment"] == []


def test_an_unknown_member_is_404(client: FlaskClient, auth: Auth) -> None:
    response = post(client, auth("adjust"), GOODWILL, "/api/v1/members/M-404/adjustments")
    assert response.status_code == 404
    assert response.json["code"] == "unknown_member"


def test_the_same_adjustment_replays_and_another_body_is_409(
        client: FlaskClient, auth: Auth, member: str) -> None:
    first = post(client, auth("adjust"), GOODWILL)
    again = post(client, auth("adjust"), GOODWILL)
    assert (again.status_code, again.json) == (201, first.json)
    assert again.headers[REPLAY_HEADER] == "true"
    conflict = post(client, auth("adjust"), {**GOODWILL, "points": 600})
    assert conflict.status_code == 409
    assert conflict.json["code"] == "idempotency_conflict"
    points = client.get(f"/api/v1/members/{member}", headers=auth("pos")).json["points"]
    assert points["available"] == 500


def test_every_adjustment_answer_matches_the_served_document(
        contract: Contract, auth: Auth, member: str) -> None:
    desk = auth("adjust")
    path = f"/api/v1/members/{member}/adjustments"
    contract.call("POST", path, PATH, desk, GOODWILL, status=201)
    contract.call("POST", path, PATH, desk, GOODWILL, status=201)
    contract.call("POST", path, PATH, desk, {**GOODWILL, "points": 1}, status=409)
    contract.call("POST", path, PATH, desk, {**GOODWILL, "adjustment_id": "ADJ-2",
                                             "points": -501}, status=422)
    contract.call("POST", path, PATH, desk, {**GOODWILL, "reason": " "}, status=422)
    contract.call("POST", "/api/v1/members/M-404/adjustments", PATH, desk,
                  {**GOODWILL, "adjustment_id": "ADJ-3"}, status=404)
    contract.call("POST", path, PATH, auth("pos"), GOODWILL, status=403)
    contract.call("GET", f"/api/v1/members/{member}/ledger", "/api/v1/members/{member_id}/ledger",
                  auth("pos"), status=200)
    assert len(contract.checked) == 6  # every (method, path, status) called above
