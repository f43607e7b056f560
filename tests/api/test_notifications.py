"""Notifications through HTTP: what a receipt shows it queued, consent, the outbox read by
marketing, dead letters replayed by an administrator, and the webhook endpoints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from loyalty.services.context import ServiceContext
from loyalty.store import tables as t

Auth = Callable[[str], dict[str, str]]
TX = "/api/v1/transactions"
NOW = datetime(2026, 11, 21, 6, 3, tzinfo=UTC)
FRIDGE = {"sku": "FRIDGE-300", "category": "fridge", "quantity": 1, "unit_price": "3999.00"}


def enrol(client: FlaskClient, auth: Auth, member_id: str, **extra: Any) -> None:
    response = client.post("/api/v1/members", json={
        "member_id": member_id, "name": "Ann", "email": f"{member_id.lower()}@example.com",
        "phone": "+8613800000001" if member_id == "M-1001" else "+8613800000002",
        "enrolled_at": "2025-01-01T00:00:00+08:00", **extra}, headers=auth("pos"))
    assert response.status_code == 201, response.json


@pytest.fixture
def ann(client: FlaskClient, auth: Auth, ctx: ServiceContext) -> str:
    ctx.clock = lambda: NOW
    enrol(client, auth, "M-1001", consents={"sms": True})
    return "M-1001"


def buy_fridge(client: FlaskClient, auth: Auth, member_id: str = "M-1001",
               tid: str = "S-1") -> dict[str, Any]:
    response = client.post(TX, json={
        "transaction_id": tid, "type": "purchase", "member_id": member_id,
        "occurred_at": "2026-11-20T14:03:00+08:00", "lines": [FRIDGE]}, headers=auth("pos"))
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def test_a_receipt_shows_the_gift_message_queued_on_the_channel_consented_to(
        client: FlaskClient, auth: Auth, ann: str) -> None:
    body = buy_fridge(client, auth)
    (voucher,) = [r["voucher_code"] for r in body["rewards"] if r["reward_id"] == "ICE-MAKER"]
    gift = {n["channel"]: n for n in body["notifications"] if n["notification"] == "gift-granted"}
    assert gift["sms"]["status"] == "pending"
    assert gift["email"]["status"] == "suppressed"  # Ann agreed to text messages only
    assert gift["sms"]["message"] == (
        f"Your Countertop ice maker is waiting at the service desk: show voucher {voucher} by "
        "2027-02-18.")


def test_the_outbox_lists_notifications_by_member_status_and_kind_page_by_page(
        client: FlaskClient, auth: Auth, ann: str) -> None:
    buy_fridge(client, auth)
    everything = client.get(f"/api/v1/members/{ann}/notifications", headers=auth("marketing"))
    assert everything.status_code == 200, everything.json
    kinds = {(n["notification"], n["channel"], n["status"])
             for n in everything.json["notifications"]}
    assert ("gift-granted", "sms", "pending") in kinds
    assert ("welcome", "email", "suppressed") in kinds
    pending = client.get("/api/v1/notifications", query_string={
        "status": "pending", "kind": "gift-granted"}, headers=auth("adjust")).json
    assert [(n["channel"], n["member_id"]) for n in pending["notifications"]] == [("sms", ann)]
    first = client.get("/api/v1/notifications", query_string={"limit": 1},
                       headers=auth("marketing")).json
    second = client.get("/api/v1/notifications", query_string={
        "limit": 1, "cursor": first["next_cursor"]}, headers=auth("marketing")).json
    assert first["notifications"][0]["notification_id"] != (
        second["notifications"][0]["notification_id"])


def test_the_till_cannot_read_notifications_and_only_an_administrator_replays(
        client: FlaskClient, auth: Auth, ann: str) -> None:
    assert client.get("/api/v1/notifications", headers=auth("pos")).status_code == 403
    some = client.get("/api/v1/notifications", headers=auth("marketing")).json
    one = some["notifications"][0]["notification_id"]
    answer = client.post(f"/api/v1/notifications/{one}/replay", headers=auth("marketing"))
    assert answer.status_code == 403


def test_an_unknown_status_or_member_is_refused_in_the_one_error_shape(
        client: FlaskClient, auth: Auth, ann: str) -> None:
    bad = client.get("/api/v1/notifications", query_string={"status": "lost"},
                     headers=auth("marketing"))
    assert bad.status_code == 422 and bad.json["code"] == "validation_error"
    unknown = client.get("/api/v1/members/M-404/notifications", headers=auth("marketing"))
    assert unknown.status_code == 404 and unknown.json["code"] == "unknown_member"
    missing = client.post("/api/v1/notifications/nope/replay", headers=auth("admin"))
    assert missing.status_code == 404 and missing.json["code"] == "unknown_notification"


def test_a_dead_letter_is_replayed_once_and_a_pending_one_is_not(
        client: FlaskClient, auth: Auth, ann: str, ctx: ServiceContext) -> None:
    buy_fridge(client, auth)
    n = t.notifications.c
    with ctx.engine.begin() as conn:
        target = conn.execute(select(n.notification_id).where(
            n.notification == "gift-granted", n.channel == "sms")).scalar_one()
        conn.execute(update(t.notifications).where(n.notification_id == target).values(
            status="dead", attempts=7, last_error="sms-gateway: answered 503"))
    dead = client.get("/api/v1/notifications", query_string={"status": "dead"},
                      headers=auth("admin")).json["notifications"]
    assert [(d["notification_id"], d["last_error"]) for d in dead] == [
        (target, "sms-gateway: answered 503")]
    ctx.clock = lambda: NOW + timedelta(days=3)
    replayed = client.post(f"/api/v1/notifications/{target}/replay", headers=auth("admin"))
    assert replayed.status_code == 200, replayed.json
    assert replayed.json["status"] == "pending"
    assert replayed.json["queued_at"] == (NOW + timedelta(days=3)).isoformat()
    again = client.post(f"/api/v1/notifications/{target}/replay", headers=auth("admin"))
    assert again.status_code == 409 and again.json["code"] == "not_replayable"
    log = client.get("/api/v1/audit", query_string={"action": "notification.replayed"},
                     headers=auth("admin")).json
    assert [entry["subject"] for entry in log["entries"]] == [target]


def test_webhooks_are_added_with_a_secret_shown_once_listed_and_removed(
        client: FlaskClient, auth: Auth, ann: str) -> None:
    added = client.post("/api/v1/webhooks", json={
        "url": "https://sms-gateway.example.com/loyalty", "channels": ["sms"],
        "kinds": ["birthday-greeting"]}, headers=auth("admin"))
    assert added.status_code == 201, added.json
    assert added.json["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks", headers=auth("admin")).json["webhooks"]
    assert [(w["endpoint_id"], w["channels"], w["kinds"]) for w in listed] == [
        (added.json["endpoint_id"], ["sms"], ["birthday-greeting"])]
    assert "secret" not in listed[0]
    bad = client.post("/api/v1/webhooks", json={"url": "ftp://example.com",
                                                "channels": ["fax"]}, headers=auth("admin"))
    assert bad.status_code == 422 and set(bad.json["details"]["fields"]) == {"url", "channels.0"}
    assert client.post("/api/v1/webhooks", json={"url": "https://x.example.com"},
                       headers=auth("marketing")).status_code == 403
    gone = client.delete(f"/api/v1/webhooks/{added.json['endpoint_id']}", headers=auth("admin"))
    assert gone.status_code == 200
    assert client.get("/api/v1/webhooks", headers=auth("admin")).json["webhooks"] == []
    again = client.delete(f"/api/v1/webhooks/{added.json['endpoint_id']}", headers=auth("admin"))
    assert again.status_code == 404 and again.json["code"] == "unknown_webhook"
