"""What the till sends is checked before anything is recorded: amounts within bounds, times
not from the future, the programme's currency, payments that cover the lines, one member per
phone number, and dry runs of ids already recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from loyalty.domain.errors import WriteConflict
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from loyalty.store.uow import run_with_retry

Auth = Callable[[str], dict[str, str]]
TX = "/api/v1/transactions"
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)


@pytest.fixture
def member(client: FlaskClient, auth: Auth, ctx: ServiceContext) -> str:
    ctx.clock = lambda: NOW
    response = client.post("/api/v1/members", json={
        "member_id": "M-1001", "name": "Ann", "phone": "+86 138 0000 0001",
        "email": "ann@example.com", "enrolled_at": "2025-01-01T00:00:00+08:00",
    }, headers=auth("pos"))
    assert response.status_code == 201, response.json
    return "M-1001"


def purchase(**changes: Any) -> dict[str, Any]:
    """The walk-through purchase of the contract."""
    return {
        "transaction_id": "S12-20261120-000123", "type": "purchase", "member_id": "M-1001",
        "occurred_at": "2026-11-20T14:03:00+08:00", "store_id": "S12", "channel": "store",
        "currency": "CNY",
        "lines": [
            {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1,
             "unit_price": "3999.00"},
            {"sku": "FILTER-1", "category": "accessories", "quantity": 2, "unit_price": "49.50"},
        ],
        "payments": [{"method": "card", "amount": "4098.00"}], "offer_codes": [], **changes,
    }


def refused(response: Any, *fields: str) -> None:
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert set(response.json["details"]["fields"]) == set(fields), response.json


def recorded(ctx: ServiceContext, table: Any) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_dry_run_of_a_recorded_purchase_answers_as_recorded(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    first = client.post(TX, json=purchase(), headers=auth("pos"))
    assert first.status_code == 201
    again = client.post(f"{TX}?dry_run=true", json=purchase(), headers=auth("pos"))
    assert again.status_code == 200
    assert again.json == first.json
    other = client.post(f"{TX}?dry_run=true", json=purchase(store_id="S13"), headers=auth("pos"))
    assert other.status_code == 409
    assert other.json["code"] == "idempotency_conflict"
    assert recorded(ctx, t.transactions) == 1


def test_a_dry_run_of_a_recorded_event_answers_as_recorded(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    event = {"event_id": "E-1", "type": "visit", "member_id": member,
             "occurred_at": "2026-11-20T14:03:00+08:00"}
    first = client.post("/api/v1/events", json=event, headers=auth("pos"))
    assert first.status_code == 201
    again = client.post("/api/v1/events?dry_run=true", json=event, headers=auth("pos"))
    assert (again.status_code, again.json) == (200, first.json)
    changed = client.post("/api/v1/events?dry_run=true", json={**event, "type": "survey"},
                          headers=auth("pos"))
    assert changed.json["code"] == "idempotency_conflict"


def test_a_unique_violation_that_persists_is_reported_not_retried_forever() -> None:
    attempts = []

    def attempt() -> None:
        attempts.append(1)
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(WriteConflict):
        run_with_retry(attempt, retries=8)
    assert len(attempts) == 3


@pytest.mark.parametrize(("changes", "field"), [
    ({"lines": [{"sku": "A", "category": "c", "quantity": 1, "unit_price": "1e30"}]},
     "lines.0.unit_price"),
    ({"lines": [{"sku": "A", "category": "c", "quantity": 1,
                 "unit_price": "99999999999999999999"}]}, "lines.0.unit_price"),
    ({"lines": [{"sku": "A", "category": "c", "quantity": 10**20, "unit_price": "1.00"}]},
     "lines.0.quantity"),
    ({"lines": [{"sku": "A", "category": "c", "quantity": 1_000_000,
                 "unit_price": "9999999.99"}]}, "lines.0.unit_price"),
    ({"lines": [{"sku": "A", "category": "c", "quantity": 1000, "unit_price": "900000"},
                {"sku": "B", "category": "c", "quantity": 1000, "unit_price": "900000"}]},
     "lines"),
    ({"lines": [{"sku": "A", "category": "c", "quantity": 1, "unit_price": "1.12345"}]},
     "lines.0.unit_price"),
])
def test_huge_amounts_are_refused_naming_the_field(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str,
    changes: dict[str, Any], field: str
) -> None:
    response = client.post(TX, json=purchase(payments=[], **changes), headers=auth("pos"))
    refused(response, field)
    assert recorded(ctx, t.transactions) == 0


def test_the_largest_purchase_accepted_is_recorded(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    lines = [{"sku": "A", "category": "appliances", "quantity": 100, "unit_price": "10000000"}]
    response = client.post(TX, json=purchase(lines=lines, payments=[]), headers=auth("pos"))
    assert response.status_code == 201, response.json
    # one point per yuan at the tier the member had before this purchase made them platinum
    assert response.json["points"]["earned"] == 1_000_000_000
    assert response.json["tier"] == {"before": "member", "after": "platinum", "changed": True}


def test_times_from_the_future_are_refused(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    later = (NOW + timedelta(hours=25)).isoformat()
    refused(client.post(TX, json=purchase(occurred_at=later), headers=auth("pos")),
            "occurred_at")
    refused(client.post("/api/v1/events", json={
        "event_id": "E-9", "type": "visit", "member_id": member, "occurred_at": later,
    }, headers=auth("pos")), "occurred_at")
    refused(client.post("/api/v1/members", json={
        "name": "Bo", "enrolled_at": (NOW + timedelta(minutes=5)).isoformat(),
    }, headers=auth("pos")), "enrolled_at")
    soon = (NOW + timedelta(hours=23)).isoformat()
    assert client.post(TX, json=purchase(occurred_at=soon),
                       headers=auth("pos")).status_code == 201
    ctx.settings = type(ctx.settings)(**{**vars(ctx.settings), "future_tolerance_hours": 1.0})
    refused(client.post(TX, json=purchase(transaction_id="S12-2", occurred_at=soon),
                        headers=auth("pos")), "occurred_at")


def test_a_purchase_is_in_the_programme_currency(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    refused(client.post(TX, json=purchase(currency="USD"), headers=auth("pos")), "currency")
    body = purchase()
    del body["currency"]
    assert client.post(TX, json=body, headers=auth("pos")).status_code == 201
    with ctx.engine.connect() as conn:
        assert conn.execute(select(t.transactions.c.currency)).scalar_one() == "CNY"
    replay = client.post(TX, json=purchase(), headers=auth("pos"))
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_payments_add_up_to_the_lines(client: FlaskClient, auth: Auth, member: str) -> None:
    short = purchase(payments=[{"method": "card", "amount": "4000.00"}])
    refused(client.post(TX, json=short, headers=auth("pos")), "payments")
    split = purchase(payments=[{"method": "card", "amount": "4000"},
                               {"method": "cash", "amount": 98}])
    assert client.post(TX, json=split, headers=auth("pos")).status_code == 201


@pytest.mark.parametrize("phone", ["13800000001", "0086 138 0000 0001", "(+86) 13800000001",
                                   "+86-138-0000-0001"])
def test_one_phone_number_however_written_is_one_member(
    client: FlaskClient, auth: Auth, member: str, phone: str
) -> None:
    response = client.post("/api/v1/members", json={"phone": phone}, headers=auth("pos"))
    assert response.status_code == 409, response.json
    assert response.json["details"] == {"field": "phone"}


def test_phones_are_stored_in_e164_and_bad_ones_refused(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    assert client.get(f"/api/v1/members/{member}",
                      headers=auth("pos")).json["phone"] == "+8613800000001"
    refused(client.post("/api/v1/members", json={"phone": "12345"}, headers=auth("pos")),
            "phone")
    foreign = client.post("/api/v1/members", json={"phone": "+1 650 253 0000"},
                          headers=auth("pos"))
    assert foreign.json["phone"] == "+16502530000"


def test_emails_are_compared_trimmed_and_without_case(
    client: FlaskClient, auth: Auth, member: str
) -> None:
    response = client.post("/api/v1/members", json={"email": "  ANN@Example.com "},
                           headers=auth("pos"))
    assert response.status_code == 409, response.json
    assert response.json["details"] == {"field": "email"}


def test_the_default_region_is_a_setting(
    client: FlaskClient, auth: Auth, ctx: ServiceContext, member: str
) -> None:
    ctx.settings = type(ctx.settings)(**{**vars(ctx.settings), "default_region": "US"})
    response = client.post("/api/v1/members", json={"phone": "(650) 253-0000"},
                           headers=auth("pos"))
    assert response.status_code == 201, response.json
    assert response.json["phone"] == "+16502530000"


def test_a_return_dated_before_its_purchase_is_refused_and_changes_nothing(
    client: FlaskClient, auth: Auth, member: str, ctx: ServiceContext
) -> None:
    assert client.post(TX, json=purchase(), headers=auth("pos")).status_code == 201
    early = {
        "transaction_id": "S12-RET-1", "type": "return", "member_id": member,
        "occurred_at": "2026-11-19T10:00:00+08:00",
        "original_transaction_id": "S12-20261120-000123",
        "lines": [{"sku": "FILTER-1", "quantity": 1}],
    }
    refused(client.post(TX, json=early, headers=auth("pos")), "occurred_at")
    assert recorded(ctx, t.transactions) == 1
    on_time = {**early, "occurred_at": "2026-11-21T10:00:00+08:00"}
    assert client.post(TX, json=on_time, headers=auth("pos")).status_code == 201
