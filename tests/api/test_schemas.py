"""Request schemas load straight into commands, and refuse what the contract refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from loyalty.api.errors import field_errors
from loyalty.api.parsing import loads_json
from loyalty.api.schemas.requests import (
    EnrolMemberSchema,
    EventSchema,
    LedgerQuerySchema,
    RedeemSchema,
    TransactionSchema,
)
from loyalty.domain.commands import (
    EnrolMember,
    LineIn,
    PaymentIn,
    RecordEvent,
    RecordTransaction,
    Redeem,
)

PURCHASE: dict[str, Any] = {
    "transaction_id": "S12-20261120-000123",
    "type": "purchase",
    "member_id": "M-1001",
    "occurred_at": "2026-11-20T14:03:00+08:00",
    "store_id": "S12",
    "channel": "store",
    "currency": "CNY",
    "lines": [
        {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"},
        {"sku": "FILTER-1", "category": "accessories", "quantity": 2, "unit_price": "49.50"},
    ],
    "payments": [{"method": "card", "amount": "4098.00"}],
    "offer_codes": [],
}


def errors_of(schema: Any, data: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    return field_errors(caught.value.messages)


def with_line(**changes: Any) -> dict[str, Any]:
    return {**PURCHASE, "lines": [{**PURCHASE["lines"][0], **changes}]}


def test_purchase_loads_into_a_record_transaction_command() -> None:
    command = TransactionSchema().load(PURCHASE)
    assert command == RecordTransaction(
        transaction_id="S12-20261120-000123",
        type="purchase",
        member_id="M-1001",
        occurred_at=datetime(2026, 11, 20, 14, 3, tzinfo=timezone(timedelta(hours=8))),
        fingerprint="",
        lines=(
            LineIn("FRIDGE-300", 1, "appliances", Decimal("3999.00")),
            LineIn("FILTER-1", 2, "accessories", Decimal("49.50")),
        ),
        store_id="S12",
        channel="store",
        currency="CNY",
        payments=(PaymentIn("card", Decimal("4098.00")),),
        offer_codes=(),
    )


def test_money_given_as_a_json_number_stays_exact() -> None:
    body = loads_json('{"sku": "A", "category": "c", "quantity": 1, "unit_price": 0.1}')
    command = TransactionSchema().load({**PURCHASE, "lines": [body], "payments": []})
    assert command.lines[0].unit_price == Decimal("0.1")
    assert isinstance(command.lines[0].unit_price, Decimal)


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("1.23456", "At most 4 decimal places."),
        ("NaN", "Not a valid amount"),
        ("Infinity", "Not a valid amount"),
        ("1e3", "Not a valid amount"),
        ("12,50", "Not a valid amount"),
        ("-1.00", "Must not be negative."),
        (True, "Not a valid amount"),
        ([], "Not a valid amount"),
        ("1000000000000", "Amount too large: at most 10,000,000."),
        ("10000000.01", "Amount too large: at most 10,000,000."),
    ],
)
def test_a_bad_unit_price_is_named_with_its_path(price: Any, message: str) -> None:
    errors = errors_of(TransactionSchema(), with_line(unit_price=price))
    assert list(errors) == ["lines.0.unit_price"]
    assert errors["lines.0.unit_price"][0].startswith(message)


def test_a_payment_must_be_more_than_zero() -> None:
    errors = errors_of(TransactionSchema(), {**PURCHASE, "payments": [{"method": "card",
                                                                       "amount": "0"}]})
    assert errors == {"payments.0.amount": ["Must be greater than zero."]}


def test_every_bad_field_is_named_at_once() -> None:
    body = {
        "transaction_id": "",
        "type": "refund",
        "occurred_at": "2026-11-20T14:03:00",
        "lines": [{"sku": "A", "quantity": 0, "unit_price": "1.00001", "colour": "red"}],
        "surprise": 1,
    }
    errors = errors_of(TransactionSchema(), body)
    assert set(errors) == {
        "transaction_id", "type", "member_id", "occurred_at",
        "lines.0.quantity", "lines.0.unit_price", "lines.0.colour", "surprise",
    }
    assert errors["surprise"] == ["Unknown field."]
    assert errors["occurred_at"] == ["Must include a UTC offset, e.g. 2026-11-20T14:03:00+08:00."]


def test_a_purchase_line_needs_category_and_unit_price() -> None:
    body = {**PURCHASE, "lines": [{"sku": "A", "quantity": 1}]}
    assert errors_of(TransactionSchema(), body) == {
        "lines.0.category": ["Missing data for required field."],
        "lines.0.unit_price": ["Missing data for required field."],
    }


def test_a_purchase_needs_at_least_one_line() -> None:
    assert set(errors_of(TransactionSchema(), {**PURCHASE, "lines": []})) == {"lines"}


def test_a_return_names_the_purchase_and_the_lines_by_sku_and_quantity() -> None:
    body = {**PURCHASE, "type": "return", "transaction_id": "R-1",
            "original_transaction_id": "S12-20261120-000123",
            "lines": [{"sku": "FILTER-1", "quantity": 1}]}
    command = TransactionSchema().load(body)
    assert command.original_transaction_id == "S12-20261120-000123"
    assert command.lines == (LineIn("FILTER-1", 1),)


def test_a_return_without_its_original_transaction_is_refused() -> None:
    body = {**PURCHASE, "type": "return", "lines": [{"sku": "FILTER-1", "quantity": 1}]}
    assert list(errors_of(TransactionSchema(), body)) == ["original_transaction_id"]


def test_ids_longer_than_128_characters_are_refused() -> None:
    assert list(errors_of(TransactionSchema(), {**PURCHASE, "transaction_id": "x" * 129})) == [
        "transaction_id"
    ]


def test_quantities_are_whole_positive_numbers() -> None:
    for quantity in (0, -1, 1.5, "2", True):
        assert list(errors_of(TransactionSchema(), with_line(quantity=quantity))) == [
            "lines.0.quantity"
        ]


def test_an_event_loads_into_a_record_event_command() -> None:
    body = loads_json('{"event_id": "E-1", "type": "survey", "member_id": "M-1001", '
                      '"occurred_at": "2026-11-20T06:00:00Z", "attributes": {"score": 4.5}}')
    command = EventSchema().load(body)
    assert command == RecordEvent(
        event_id="E-1", type="survey", member_id="M-1001",
        occurred_at=datetime(2026, 11, 20, 6, tzinfo=UTC), fingerprint="",
        attributes={"score": 4.5},
    )


@pytest.mark.parametrize("kind", ["Complaint", "with space", "", "1st"])
def test_an_event_type_is_a_lowercase_name(kind: str) -> None:
    body = {"event_id": "E-1", "type": kind, "member_id": "M-1",
            "occurred_at": "2026-11-20T06:00:00+00:00"}
    assert list(errors_of(EventSchema(), body)) == ["type"]


def test_a_redemption_loads_into_a_redeem_command_with_at_least_one_item() -> None:
    assert RedeemSchema().load({"redemption_id": "R-1", "reward_id": "ICE-MAKER"}) == Redeem(
        redemption_id="R-1", member_id="", reward_id="ICE-MAKER", quantity=1, fingerprint=""
    )
    assert list(errors_of(RedeemSchema(), {"redemption_id": "R-1", "reward_id": "X",
                                           "quantity": 0})) == ["quantity"]


def test_enrolment_loads_into_an_enrol_member_command() -> None:
    command = EnrolMemberSchema().load({
        "name": "Ann", "email": "ann@example.com", "phone": "+86 138 0000 0000",
        "birth_date": "1990-05-01", "region": "Shanghai", "attributes": {"household": 3},
    })
    assert command == EnrolMember(
        member_id=None, name="Ann", email="ann@example.com", phone="+86 138 0000 0000",
        birth_date=date(1990, 5, 1), region="Shanghai", attributes={"household": 3},
    )


def test_enrolment_refuses_a_bad_email_and_a_naive_enrolment_time() -> None:
    errors = errors_of(EnrolMemberSchema(), {"email": "nope", "enrolled_at": "2026-01-01T00:00"})
    assert set(errors) == {"email", "enrolled_at"}


def test_a_ledger_page_holds_1_to_200_entries() -> None:
    assert LedgerQuerySchema().load({}) == {"limit": 50}
    for limit in ("0", "201"):
        assert list(errors_of(LedgerQuerySchema(), {"limit": limit})) == ["limit"]
