"""API keys and roles: 401 without a valid key, 403 without the role, for every endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from loyalty.services.audit import Actor
from tests.api import fakes

Auth = Callable[[str], dict[str, str]]
ROLES = ("pos", "marketing", "marketing_lead", "adjust", "admin")
POS, ADMIN = {"pos", "admin"}, {"admin"}
MARKETING = {"marketing", "marketing_lead", "admin"}
DESK = {"adjust", "admin"}
EVERYONE = {"pos", "marketing", "marketing_lead", "admin"}
READERS = EVERYONE | {"adjust"}

PURCHASE = {
    "transaction_id": "T-1", "type": "purchase", "member_id": "M-1001",
    "occurred_at": "2026-11-20T14:03:00+08:00",
    "lines": [{"sku": "A", "category": "c", "quantity": 1, "unit_price": "10.00"}],
}
EVENT = {"event_id": "E-1", "type": "complaint", "member_id": "M-1001",
         "occurred_at": "2026-11-20T14:03:00+08:00"}
FILES = {"files": {"earn.yaml": "rules: []\n"}}

#: method, path, body, roles allowed, status when allowed
ENDPOINTS: list[tuple[str, str, Any, set[str], int]] = [
    ("POST", "/api/v1/members", {"name": "Ann"}, POS, 201),
    ("GET", "/api/v1/members/M-1001", None, READERS, 200),
    ("GET", "/api/v1/members/M-1001/ledger", None, READERS, 200),
    ("GET", "/api/v1/members/M-1001/tiers", None, READERS, 200),
    ("POST", "/api/v1/transactions", PURCHASE, POS, 201),
    ("POST", "/api/v1/events", EVENT, POS, 201),
    ("GET", "/api/v1/rewards", None, EVERYONE, 200),
    ("POST", "/api/v1/members/M-1001/redemptions",
     {"redemption_id": "R-1", "reward_id": "ICE-MAKER"}, POS, 201),
    ("POST", "/api/v1/members/M-1001/adjustments",
     {"adjustment_id": "A-1", "points": 500, "reason": "late delivery"}, DESK, 201),
    ("POST", "/api/v1/rules/check", FILES, MARKETING, 200),
    ("POST", "/api/v1/rules/explain", {"member_id": "M-1001", "event": PURCHASE}, MARKETING, 200),
    ("POST", "/api/v1/rules/backtests", {**FILES, "from": "2026-11-01T00:00:00+00:00",
                                         "to": "2026-11-30T00:00:00+00:00"}, MARKETING, 200),
    ("GET", "/api/v1/rules/versions", None, MARKETING, 200),
    ("GET", "/api/v1/rules/versions/3", None, MARKETING, 200),
    ("POST", "/api/v1/rules/activate", {**FILES, "reason": "spring"}, MARKETING, 201),
    ("POST", "/api/v1/sweeps", {"as_of": "2026-11-20T00:00:00+00:00", "shard": "1/2"}, ADMIN,
     201),
    ("GET", "/api/v1/reports/overview", None, MARKETING, 200),
    ("GET", "/api/v1/reports/winback", None, MARKETING, 200),
    ("GET", "/api/v1/reports/returned-rewards", None, MARKETING, 200),
]
MATRIX = [
    pytest.param(method, path, body, role, status if role in allowed else 403,
                 id=f"{method} {path} as {role}")
    for method, path, body, allowed, status in ENDPOINTS
    for role in ROLES
]


def call(client: FlaskClient, method: str, path: str, body: Any,
         headers: dict[str, str] | None = None) -> Any:
    return client.open(path, method=method, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), MATRIX)
def test_each_role_may_do_what_it_is_for(client: FlaskClient, auth: Auth,
                                          monkeypatch: pytest.MonkeyPatch, method: str,
                                          path: str, body: Any, role: str,
                                          expected: int) -> None:
    fakes.install(monkeypatch)
    response = call(client, method, path, body, auth(role))
    assert response.status_code == expected, response.json
    if expected == 403:
        assert response.json["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body"),
                         [(m, p, b) for m, p, b, _, _ in ENDPOINTS])
def test_no_key_is_401_with_a_bearer_challenge(client: FlaskClient, method: str, path: str,
                                               body: Any) -> None:
    response = call(client, method, path, body)
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer lk_unknown_key", "Bearer ", "Basic dXNlcjpwdw==",
                                    "lk_no_scheme"])
def test_an_unknown_or_malformed_key_is_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/members/M-1001", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_role_is_checked_before_the_body(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/rules/activate", data="not json", headers=auth("pos"),
                           content_type="application/json")
    assert response.status_code == 403


def test_the_key_is_checked_before_the_body(client: FlaskClient) -> None:
    response = client.post("/api/v1/transactions", json={"nonsense": True})
    assert response.status_code == 401


def test_the_bearer_scheme_is_case_insensitive(client: FlaskClient,
                                               make_key: Callable[[str], str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fakes.install(monkeypatch)
    response = client.get("/api/v1/rewards",
                          headers={"Authorization": f"bearer {make_key('pos')}"})
    assert response.status_code == 200


def test_activation_records_who_activated(client: FlaskClient, auth: Auth,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fakes.install(monkeypatch)
    client.post("/api/v1/rules/activate", json={**FILES, "reason": "spring"},
                headers=auth("admin"))
    args, kwargs = calls.last("activate")
    assert args[1] == FILES["files"]
    assert (args[2], kwargs["reason"]) == (Actor("test-admin", "key"), "spring")


def test_the_documentation_needs_no_key(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200
