"""The README's five-minute walk-through, request for request, answers as it says."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

Auth = Callable[[str], dict[str, str]]
API = "/api/v1"
PURCHASE = {
    "transaction_id": "S12-20261120-000123", "type": "purchase", "member_id": "M-1001",
    "occurred_at": "2026-11-20T14:03:00+08:00", "store_id": "S12", "channel": "store",
    "currency": "CNY",
    "lines": [
        {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"},
        {"sku": "FILTER-1", "category": "accessories", "quantity": 2, "unit_price": "49.50"}],
    "payments": [{"method": "card", "amount": "4098.00"}], "offer_codes": [],
}


def test_the_walk_through_answers_as_the_readme_says(client: FlaskClient, auth: Auth) -> None:
    h = auth("pos")
    enrolled = client.post(f"{API}/members", headers=h, json={
        "member_id": "M-1001", "name": "Ann Lee", "email": "ann@example.com",
        "phone": "+86 138 0000 0001"})
    assert enrolled.status_code == 201, enrolled.json
    first = client.post(f"{API}/transactions", headers=h, json=PURCHASE)
    assert first.status_code == 201, first.json
    assert first.json["points"]["earned"] == 4098
    again = client.post(f"{API}/transactions", headers=h, json=PURCHASE)
    assert (again.status_code, again.json) == (201, first.json)
    other = client.post(f"{API}/transactions", headers=h, json={**PURCHASE, "store_id": "S1"})
    assert other.json["code"] == "idempotency_conflict"
    assert client.get(f"{API}/members/M-1001", headers=h).status_code == 200
    assert client.get(f"{API}/members/M-1001/ledger?limit=20", headers=h).status_code == 200
    returned = client.post(f"{API}/transactions", headers=h, json={
        "transaction_id": "S12-20261121-000007", "type": "return", "member_id": "M-1001",
        "occurred_at": "2026-11-21T10:00:00+08:00",
        "original_transaction_id": "S12-20261120-000123",
        "lines": [{"sku": "FILTER-1", "quantity": 1}]})
    assert returned.status_code == 201, returned.json
    assert returned.json["points"]["clawed_back"] == 49
    assert client.get(f"{API}/rewards", headers=h).status_code == 200
    redeemed = client.post(f"{API}/members/M-1001/redemptions", headers=h, json={
        "redemption_id": "RD-1", "reward_id": "FREE-CHECKUP", "quantity": 1})
    assert redeemed.status_code == 422
    assert redeemed.json["code"] == "insufficient_points"
