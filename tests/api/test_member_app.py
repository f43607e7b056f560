"""What a member sees (pending points by date, next expiries, progress to the next tier) on the
member view and the receipt, and member tokens: issued, listed, revoked, and admitted only by
the member app's own endpoints, over the real service and database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from loyalty import create_app
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from tests.api.test_contract import Contract

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)
DAY = timedelta(days=1)
MEMBERS = "/api/v1/members"
TOKENS = "/api/v1/members/{member_id}/tokens"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(ctx: ServiceContext) -> Clock:
    clock = Clock()
    ctx.clock = clock
    return clock


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    return Contract(client, client.get("/api/v1/openapi.json").get_json())


def enrol(client: FlaskClient, auth: Auth, member_id: str, at: datetime) -> None:
    response = client.post(MEMBERS, json={
        "member_id": member_id, "name": member_id, "enrolled_at": at.isoformat()},
        headers=auth("pos"))
    assert response.status_code == 201, response.json


def buy(client: FlaskClient, auth: Auth, member_id: str, tid: str, at: datetime,
        amount: str) -> dict[str, Any]:
    response = client.post("/api/v1/transactions", json={
        "transaction_id": tid, "type": "purchase", "member_id": member_id,
        "occurred_at": at.isoformat(),
        "lines": [{"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1,
                   "unit_price": amount}]}, headers=auth("pos"))
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def member(client: FlaskClient, auth: Auth, member_id: str,
           as_of: datetime | None = None) -> dict[str, Any]:
    query = {"as_of": as_of.isoformat()} if as_of else {}
    response = client.get(f"{MEMBERS}/{member_id}", query_string=query, headers=auth("pos"))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def issue(client: FlaskClient, auth: Auth, member_id: str, role: str = "pos",
          **body: Any) -> dict[str, Any]:
    response = client.post(TOKENS.format(member_id=member_id), json=body, headers=auth(role))
    assert response.status_code == 201, response.json
    issued: dict[str, Any] = response.json
    return issued


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- what the member sees -------------------------------------------------------------------

def test_pending_points_are_listed_by_the_instant_they_become_available(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    first = NOW - 5 * DAY
    clock.now = first
    buy(client, auth, "M-1", "T-1", first, "300.00")
    clock.now = NOW
    buy(client, auth, "M-1", "T-2", NOW, "200.00")

    points = member(client, auth, "M-1")["points"]
    assert points["becoming_available"] == [
        {"points": 300, "available_at": (first + 14 * DAY).isoformat()},
        {"points": 200, "available_at": (NOW + 14 * DAY).isoformat()},
    ]
    assert sum(p["points"] for p in points["becoming_available"]) == points["pending"]
    later = member(client, auth, "M-1", as_of=first + 14 * DAY)["points"]
    assert later["becoming_available"] == [
        {"points": 200, "available_at": (NOW + 14 * DAY).isoformat()}]
    assert later["available"] == points["available"] + 300


def test_the_next_expiries_are_listed_soonest_first(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    for number, days_ago in enumerate((300, 200, 100, 50)):
        clock.now = NOW - days_ago * DAY
        buy(client, auth, "M-1", f"T-{number}", clock.now, "100.00")
    clock.now = NOW

    points = member(client, auth, "M-1")["points"]
    # welcome points (earned 400 days ago), then the purchases 300 and 200 days ago
    assert [e["expires_at"] for e in points["expiring"]] == [
        (NOW - days * DAY + relativedelta(months=24)).isoformat() for days in (400, 300, 200)]
    assert [e["points"] for e in points["expiring"]] == [100, 100, 100]
    assert points["next_expiry"] == points["expiring"][0]


def test_a_member_below_silver_is_told_what_silver_still_needs(
        client: FlaskClient, auth: Auth, clock: Clock, contract: Contract) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    receipt = buy(client, auth, "M-1", "T-1", NOW, "1200.00")
    assert receipt["tier_progress"] == [{
        "metric": "spend_365d", "now": "1200.00", "next_tier": "silver", "needed": "3800.00",
        "by": None}]
    assert receipt["balance"]["becoming_available"] == [
        {"points": 1200, "available_at": (NOW + 14 * DAY).isoformat()}]
    seen = contract.call("GET", f"{MEMBERS}/M-1", f"{MEMBERS}/{{member_id}}", auth("pos"),
                         status=200)
    assert seen["tier_progress"] == receipt["tier_progress"]


def test_an_upgraded_member_is_told_what_gold_needs_by_their_review(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    receipt = buy(client, auth, "M-1", "T-1", NOW, "6000.00")
    assert receipt["tier"]["after"] == "silver"
    review = (NOW + timedelta(days=365)).isoformat()
    assert receipt["tier_progress"] == [{
        "metric": "spend_365d", "now": "6000.00", "next_tier": "gold", "needed": "14000.00",
        "by": review}]
    assert member(client, auth, "M-1")["tier_progress"] == receipt["tier_progress"]
    tiers = client.get(f"{MEMBERS}/M-1/tiers", headers=auth("pos")).json
    assert tiers["review_at"] == review


def test_the_top_tier_needs_nothing_more(client: FlaskClient, auth: Auth, clock: Clock) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    receipt = buy(client, auth, "M-1", "T-1", NOW, "60000.00")
    assert receipt["tier"]["after"] == "platinum"
    assert receipt["tier_progress"] == [{
        "metric": "spend_365d", "now": "60000.00", "next_tier": None, "needed": "0",
        "by": None}]


def test_a_return_receipt_shows_the_figure_the_return_left(
        client: FlaskClient, auth: Auth, clock: Clock, contract: Contract) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    buy(client, auth, "M-1", "T-1", NOW, "1000.00")
    clock.now = NOW + DAY
    back = contract.call("POST", "/api/v1/transactions", "/api/v1/transactions", auth("pos"), {
        "transaction_id": "R-1", "type": "return", "member_id": "M-1",
        "occurred_at": clock.now.isoformat(), "original_transaction_id": "T-1",
        "lines": [{"sku": "GIFT-CARD", "category": "gift-cards", "quantity": 1,
                   "unit_price": "1000.00"}]}, status=201)
    assert back["tier_progress"][0]["now"] == "0.00"
    assert back["tier_progress"][0]["needed"] == "5000.00"
    # the purchase's points are all taken back; the welcome points matured long ago
    assert (back["balance"]["pending"], back["balance"]["becoming_available"]) == (0, [])
    assert back["balance"]["next_expiry"] == back["balance"]["expiring"][0]


def test_an_event_receipt_carries_the_outlook_too(
        client: FlaskClient, auth: Auth, clock: Clock, contract: Contract) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    buy(client, auth, "M-1", "T-1", NOW - DAY, "700.00")
    body = contract.call("POST", "/api/v1/events", "/api/v1/events", auth("pos"), {
        "event_id": "E-1", "type": "survey", "member_id": "M-1",
        "occurred_at": NOW.isoformat(), "attributes": {"score": 9}}, status=201)
    assert body["tier_progress"][0]["now"] == "700.00"
    assert {"points": 700, "available_at": (NOW - DAY + 14 * DAY).isoformat()} in \
        body["balance"]["becoming_available"]


# --- member tokens --------------------------------------------------------------------------

def test_a_till_issues_a_token_shown_once_and_stored_only_as_a_hash(
        client: FlaskClient, auth: Auth, clock: Clock, ctx: ServiceContext,
        contract: Contract) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    issued = contract.call("POST", TOKENS.format(member_id="M-1"), TOKENS, auth("pos"),
                           {"name": "Ann's phone"}, status=201)
    assert issued["token"].startswith(f"lm_{issued['token_id']}_")
    assert (issued["member_id"], issued["name"], issued["status"], issued["created_by"]) == (
        "M-1", "Ann's phone", "active", "test-pos")
    with ctx.uow(read_only=True) as uow:
        [row] = uow.connection.execute(select(t.member_tokens)).all()
    secret = issued["token"].split("_", 2)[2]
    assert secret not in str(tuple(row)) and row.token_hash != secret
    listed = contract.call("GET", TOKENS.format(member_id="M-1"), TOKENS, auth("adjust"),
                           status=200)
    assert [tok["token_id"] for tok in listed["tokens"]] == [issued["token_id"]]
    assert "token" not in listed["tokens"][0]


def test_a_member_token_reads_its_own_member_and_nothing_else(
        client: FlaskClient, auth: Auth, clock: Clock, contract: Contract) -> None:
    enrol(client, auth, "M-1", NOW - DAY)
    enrol(client, auth, "M-2", NOW - DAY)
    buy(client, auth, "M-1", "T-1", NOW, "1200.00")
    mine = bearer(issue(client, auth, "M-1")["token"])

    me = contract.call("GET", "/api/v1/me", "/api/v1/me", mine, status=200)
    assert me["member_id"] == "M-1"
    assert me["tier_progress"][0]["needed"] == "3800.00"
    ledger = contract.call("GET", "/api/v1/me/ledger?limit=2", "/api/v1/me/ledger", mine,
                           status=200)
    assert ledger["member_id"] == "M-1" and len(ledger["entries"]) == 2
    vouchers = contract.call("GET", "/api/v1/me/vouchers", "/api/v1/me/vouchers", mine,
                             status=200)
    assert vouchers["member_id"] == "M-1"
    assert [v["reward_id"] for v in vouchers["vouchers"]] == ["WELCOME-VOUCHER"]
    assert vouchers["vouchers"][0]["name"]
    assert contract.call("GET", "/api/v1/me/offers", "/api/v1/me/offers", mine,
                         status=200)["member_id"] == "M-1"
    for method, path in (("GET", f"{MEMBERS}/M-2"), ("GET", f"{MEMBERS}/M-1"),
                         ("GET", f"{MEMBERS}/M-1/ledger"), ("GET", TOKENS.format(member_id="M-1")),
                         ("POST", TOKENS.format(member_id="M-1")),
                         ("POST", "/api/v1/transactions"), ("GET", "/api/v1/rewards")):
        response = client.open(path, method=method, json={} if method == "POST" else None,
                               headers=mine)
        assert (response.status_code, response.json["code"]) == (403, "forbidden"), path


def test_api_keys_and_missing_tokens_are_refused_by_the_member_app(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    for role in ("pos", "admin"):
        response = client.get("/api/v1/me", headers=auth(role))
        assert (response.status_code, response.json["code"]) == (403, "forbidden")
    assert client.get("/api/v1/me").status_code == 401
    forged = client.get("/api/v1/me", headers=bearer("lm_0000000000000000_nothing"))
    assert (forged.status_code, forged.json["code"]) == (401, "unauthorized")
    token = issue(client, auth, "M-1")["token"]
    wrong = client.get("/api/v1/me", headers=bearer(token[:-1] + ("x" if token[-1] != "x"
                                                                  else "y")))
    assert wrong.status_code == 401


def test_only_a_till_or_a_service_desk_issues_tokens(
        client: FlaskClient, auth: Auth, clock: Clock, ctx: ServiceContext) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    refused = client.post(TOKENS.format(member_id="M-1"), json={}, headers=auth("marketing"))
    assert (refused.status_code, refused.json["code"]) == (403, "forbidden")
    assert issue(client, auth, "M-1", "adjust")["created_by"] == "test-adjust"
    with ctx.uow(read_only=True) as uow:
        assert len(uow.connection.execute(select(t.member_tokens)).all()) == 1


def test_bad_requests_to_issue_change_nothing(
        client: FlaskClient, auth: Auth, clock: Clock, ctx: ServiceContext) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    cases = [("M-1", {"expires_at": (NOW - DAY).isoformat()}, 422, "validation_error"),
             ("M-1", {"expires_at": "tomorrow"}, 422, "validation_error"),
             ("M-1", {"name": "x" * 101}, 422, "validation_error"),
             ("M-1", {"colour": "red"}, 422, "validation_error"),
             ("M-404", {}, 404, "unknown_member")]
    for member_id, body, status, code in cases:
        response = client.post(TOKENS.format(member_id=member_id), json=body,
                               headers=auth("pos"))
        assert (response.status_code, response.json["code"]) == (status, code), body
    with ctx.uow(read_only=True) as uow:
        assert uow.connection.execute(select(t.member_tokens)).all() == []


def test_a_revoked_token_stops_working_at_once_in_every_worker(
        app_config: dict[str, Any], client: FlaskClient, auth: Auth, clock: Clock,
        contract: Contract) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    issued = issue(client, auth, "M-1")
    other = second_worker(app_config)
    try:
        peer = other.test_client()
        assert peer.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 200
        path = f"{TOKENS.format(member_id='M-1')}/{issued['token_id']}"
        revoked = contract.call("DELETE", path, TOKENS + "/{token_id}", auth("adjust"),
                                status=200)
        assert (revoked["status"], revoked["revoked_by"]) == ("revoked", "test-adjust")
        for reader in (client, peer):
            refused = reader.get("/api/v1/me", headers=bearer(issued["token"]))
            assert (refused.status_code, refused.json["code"]) == (401, "unauthorized")
            assert "revoked" in refused.json["message"]
        again = client.delete(path, headers=auth("pos"))
        assert (again.status_code, again.json["revoked_at"]) == (200, revoked["revoked_at"])
        unknown = client.delete(f"{TOKENS.format(member_id='M-1')}/nope", headers=auth("pos"))
        assert (unknown.status_code, unknown.json["code"]) == (404, "unknown_token")
    finally:
        other.extensions["loyalty"].engine.dispose()


def second_worker(app_config: dict[str, Any]) -> Flask:
    """Another app on the same database, trusting verified keys for a minute as a worker
    with the default key cache would."""
    worker = create_app({**app_config, "key_cache_seconds": 60.0})
    worker.config["TESTING"] = True
    worker.extensions["loyalty"].clock = lambda: NOW
    return worker


def test_a_token_with_an_expiry_stops_at_it(
        client: FlaskClient, auth: Auth, clock: Clock) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    issued = issue(client, auth, "M-1", expires_at=(NOW + 30 * DAY).isoformat())
    assert client.get("/api/v1/me", headers=bearer(issued["token"])).status_code == 200
    clock.now = NOW + 30 * DAY
    refused = client.get("/api/v1/me", headers=bearer(issued["token"]))
    assert refused.status_code == 401 and "expired" in refused.json["message"]
    listed = client.get(TOKENS.format(member_id="M-1"), headers=auth("pos")).json
    assert listed["tokens"][0]["status"] == "expired"


@pytest.mark.parametrize("mark", ["merged_into", "erased_at"])
def test_a_token_of_a_member_merged_or_erased_no_longer_holds(
        client: FlaskClient, auth: Auth, clock: Clock, ctx: ServiceContext, mark: str) -> None:
    enrol(client, auth, "M-1", NOW - 400 * DAY)
    enrol(client, auth, "M-2", NOW - 400 * DAY)
    token = issue(client, auth, "M-1")["token"]
    with ctx.uow() as uow:
        uow.connection.execute(update(t.members).where(t.members.c.member_id == "M-1").values(
            {mark: "M-2" if mark == "merged_into" else NOW}))
        uow.commit()
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert (refused.status_code, refused.json["code"]) == (401, "unauthorized")
    again = client.post(TOKENS.format(member_id="M-1"), json={}, headers=auth("pos"))
    assert (again.status_code, again.json["code"]) == (
        409, "member_merged" if mark == "merged_into" else "member_erased")
