"""Vouchers in the till's purchase body and on its receipts, and the report of rewards that came
back with returned purchases, through HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.api.idempotency import fingerprint
from loyalty.domain.commands import RecordTransaction
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t

Auth = Callable[[str], dict[str, str]]
TX = "/api/v1/transactions"
NOW = datetime(2026, 11, 21, 6, 3, tzinfo=UTC)
FRIDGE = {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"}
MUG = {"sku": "MUG-1", "category": "homeware", "quantity": 1, "unit_price": "20.00"}


@pytest.fixture
def pos(client: FlaskClient, auth: Auth, ctx: ServiceContext) -> dict[str, str]:
    ctx.clock = lambda: NOW
    response = client.post("/api/v1/members", json={
        "member_id": "M-1001", "name": "Ann", "email": "ann@example.com",
        "enrolled_at": "2025-01-01T00:00:00+08:00"}, headers=auth("pos"))
    assert response.status_code == 201, response.json
    return auth("pos")


def sale(transaction_id: str, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"transaction_id": transaction_id, "type": "purchase", "member_id": "M-1001",
            "occurred_at": "2026-11-20T14:03:00+08:00", "lines": lines, **extra}


def ice_maker(client: FlaskClient, pos: dict[str, str]) -> str:
    """A refrigerator bought: the ice maker voucher it earned."""
    body = client.post(TX, json=sale("S-1", [FRIDGE]), headers=pos).json
    (code,) = [r["voucher_code"] for r in body["rewards"] if r["reward_id"] == "ICE-MAKER"]
    return str(code)


def rows(ctx: ServiceContext) -> tuple[int, int]:
    with ctx.engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(t.transactions)).scalar_one(),
                conn.execute(select(func.count()).select_from(t.ledger_entries)).scalar_one())


def test_a_purchase_presenting_a_voucher_lists_it_used_on_the_receipt(
        client: FlaskClient, pos: dict[str, str]) -> None:
    code = ice_maker(client, pos)
    response = client.post(TX, json=sale("S-2", [MUG], vouchers=[code]), headers=pos)
    assert response.status_code == 201, response.json
    assert response.json["vouchers"] == [{"voucher_code": code, "reward_id": "ICE-MAKER",
                                          "quantity": 1, "status": "used"}]
    member = client.get("/api/v1/members/M-1001", headers=pos).json
    assert code not in [r["voucher_code"] for r in member["rewards"]]


def test_a_refused_voucher_is_a_422_naming_it_and_why_and_nothing_is_recorded(
        client: FlaskClient, pos: dict[str, str], ctx: ServiceContext) -> None:
    code = ice_maker(client, pos)
    assert client.post(TX, json=sale("S-2", [MUG], vouchers=[code]), headers=pos).status_code == 201
    before = rows(ctx)
    response = client.post(TX, json=sale("S-3", [MUG], vouchers=["NOPE-1", code]), headers=pos)
    assert response.status_code == 422
    assert response.json == {
        "code": "voucher_refused",
        "message": "voucher 'NOPE-1' cannot be used: no such voucher (and 1 more)",
        "details": {"vouchers": [
            {"voucher_code": "NOPE-1", "reason": "unknown", "message": "no such voucher"},
            {"voucher_code": code, "reason": "used",
             "message": "already used by purchase S-2"}]}}
    assert rows(ctx) == before
    retried = client.post(TX, json=sale("S-3", [MUG]), headers=pos)  # the till drops them
    assert retried.status_code == 201, retried.json


def test_a_return_presenting_vouchers_and_vouchers_that_are_not_codes_are_refused(
        client: FlaskClient, pos: dict[str, str], ctx: ServiceContext) -> None:
    response = client.post(TX, json={
        "transaction_id": "R-1", "type": "return", "member_id": "M-1001",
        "occurred_at": "2026-11-20T15:00:00+08:00", "original_transaction_id": "S-1",
        "lines": [{"sku": "FRIDGE-300", "quantity": 1}], "vouchers": ["ABC"]}, headers=pos)
    assert response.status_code == 422
    assert response.json["details"]["fields"] == {
        "vouchers": ["Only a purchase presents vouchers."]}
    response = client.post(TX, json=sale("S-9", [MUG], vouchers="ABC"), headers=pos)
    assert response.status_code == 422
    assert set(response.json["details"]["fields"]) == {"vouchers"}
    assert rows(ctx)[0] == 0  # no transaction recorded


def test_a_return_receipt_lists_the_rewards_taken_back_and_the_report_shows_them(
        client: FlaskClient, pos: dict[str, str], auth: Auth) -> None:
    code = ice_maker(client, pos)
    response = client.post(TX, json={
        "transaction_id": "R-1", "type": "return", "member_id": "M-1001",
        "occurred_at": "2026-11-20T15:00:00+08:00", "original_transaction_id": "S-1",
        "lines": [{"sku": "FRIDGE-300", "quantity": 1}]}, headers=pos)
    assert response.status_code == 201, response.json
    assert response.json["rewards_taken_back"] == [{
        "reward_id": "ICE-MAKER", "voucher_code": code, "quantity": 1,
        "rule_id": "fridge-ice-maker"}]
    assert response.json["rewards_kept"] == []
    report = client.get("/api/v1/reports/returned-rewards", headers=auth("marketing"))
    assert report.status_code == 200
    assert report.json["totals"] == [{"reward_id": "ICE-MAKER", "revoked": 1, "kept": 0}]
    (entry,) = report.json["rewards"]
    assert (entry["outcome"], entry["purchase_id"], entry["return_id"], entry["voucher_code"]) \
        == ("revoked", "S-1", "R-1", code)
    assert client.get("/api/v1/reports/returned-rewards", headers=pos).status_code == 403


def test_a_request_without_vouchers_keeps_the_fingerprint_it_had_before_they_existed() -> None:
    """A till repeating a purchase recorded before vouchers were part of the body still gets
    its first answer, not a conflict."""
    cmd = RecordTransaction(transaction_id="S-1", type="purchase", member_id="M-1001",
                            occurred_at=NOW, fingerprint="")
    before = {name: getattr(cmd, name) for name in (
        "transaction_id", "type", "member_id", "occurred_at", "lines", "store_id", "channel",
        "currency", "payments", "offer_codes", "original_transaction_id")}
    assert fingerprint(cmd) == fingerprint(before)
    assert fingerprint(RecordTransaction(**{**before, "fingerprint": "", "vouchers": ("A",)})) \
        != fingerprint(before)
