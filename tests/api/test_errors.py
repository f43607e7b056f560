"""Every error answers in one JSON shape: code, message, details; never HTML, never a trace."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loyalty.api.errors import STATUS_BY_CODE
from loyalty.domain import errors as domain_errors
from loyalty.domain.errors import LoyaltyError

Auth = Callable[[str], dict[str, str]]

DOMAIN_ERRORS = sorted(
    (
        cls for cls in vars(domain_errors).values()
        if isinstance(cls, type) and issubclass(cls, LoyaltyError) and cls is not LoyaltyError
    ),
    key=lambda cls: cls.code,
)


def assert_error_shape(body: dict, code: str) -> None:
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)


def test_malformed_json_is_a_validation_error_on_the_body(client: FlaskClient,
                                                          auth: Auth) -> None:
    response = client.post("/api/v1/transactions", data='{"transaction_id": ', headers=auth("pos"),
                           content_type="application/json")
    assert response.status_code == 422
    assert response.is_json
    assert_error_shape(response.json, "validation_error")
    assert list(response.json["details"]["fields"]) == ["_body"]


def test_a_body_that_is_not_json_is_refused(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/events", data="event_id=1", headers=auth("pos"),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert_error_shape(response.json, "validation_error")
    assert "application/json" in response.json["details"]["fields"]["_body"][0]


def test_a_json_array_instead_of_an_object_is_refused(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/events", json=[1, 2], headers=auth("pos"))
    assert response.status_code == 422
    assert response.json["details"]["fields"] == {"_body": ["Invalid input type."]}


def test_nan_in_the_json_text_is_not_a_number(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/members/M-1/redemptions", data='{"quantity": NaN}',
                           headers=auth("pos"), content_type="application/json")
    assert response.status_code == 422
    assert list(response.json["details"]["fields"]) == ["_body"]


def test_unknown_fields_are_named(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/members", json={"name": "Ann", "shoe_size": 38, "vip": True},
                           headers=auth("pos"))
    assert response.status_code == 422
    assert response.json["details"]["fields"] == {
        "shoe_size": ["Unknown field."], "vip": ["Unknown field."],
    }


def test_a_validation_error_names_every_bad_field_by_its_path(client: FlaskClient,
                                                              auth: Auth) -> None:
    body = {
        "transaction_id": "T-1",
        "type": "purchase",
        "member_id": "",
        "occurred_at": "yesterday",
        "lines": [
            {"sku": "A", "category": "c", "quantity": 1, "unit_price": "1.00"},
            {"sku": "B", "category": "c", "quantity": -2, "unit_price": "abc"},
        ],
        "payments": [{"method": "card"}],
        "offer_codes": "WELCOME",
    }
    response = client.post("/api/v1/transactions", json=body, headers=auth("pos"))
    assert response.status_code == 422
    assert_error_shape(response.json, "validation_error")
    fields = response.json["details"]["fields"]
    assert set(fields) == {
        "member_id", "occurred_at", "lines.1.quantity", "lines.1.unit_price",
        "payments.0.amount", "offer_codes",
    }
    assert all(isinstance(messages, list) and messages for messages in fields.values())
    assert "lines.1.unit_price" in response.json["message"]


def test_a_bad_query_parameter_is_named(client: FlaskClient, auth: Auth) -> None:
    response = client.get("/api/v1/members/M-1/ledger?limit=0&cursor=x", headers=auth("pos"))
    assert response.status_code == 422
    assert set(response.json["details"]["fields"]) == {"limit", "cursor"}


def test_an_unknown_path_is_json_not_found(client: FlaskClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert_error_shape(response.json, "not_found")


def test_a_wrong_method_is_json_method_not_allowed(client: FlaskClient) -> None:
    response = client.delete("/api/v1/transactions")
    assert response.status_code == 405
    assert_error_shape(response.json, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


@pytest.fixture
def failing_app(app: Flask) -> Flask:
    """The app with extra routes that fail in the ways services can."""

    def crash() -> str:
        raise RuntimeError("secret detail at /srv/loyalty/store.py line 12")

    app.add_url_rule("/test/crash", "crash", crash)
    for cls in DOMAIN_ERRORS:
        def fail(cls: type[LoyaltyError] = cls) -> str:
            raise cls("it went wrong", details={"hint": 1})

        app.add_url_rule(f"/test/domain/{cls.code}", f"domain_{cls.code}", fail)
    return app


def test_an_unexpected_failure_is_a_json_500_without_a_trace(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/test/crash")
    assert response.status_code == 500
    assert_error_shape(response.json, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_domain_error_code_has_an_http_status() -> None:
    assert {cls.code for cls in DOMAIN_ERRORS} <= set(STATUS_BY_CODE)


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda cls: cls.code)
def test_a_domain_error_answers_with_its_code_and_status(failing_app: Flask,
                                                         cls: type[LoyaltyError]) -> None:
    response = failing_app.test_client().get(f"/test/domain/{cls.code}")
    assert response.status_code == STATUS_BY_CODE[cls.code]
    assert_error_shape(response.json, cls.code)
    assert response.json["message"] == "it went wrong"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("unknown_member", 404), ("member_exists", 409), ("idempotency_conflict", 409),
        ("insufficient_points", 422), ("out_of_stock", 409), ("validation_error", 422),
        ("no_active_rules", 503), ("unauthorized", 401), ("forbidden", 403),
    ],
)
def test_the_contract_statuses(code: str, status: int) -> None:
    assert STATUS_BY_CODE[code] == status


def test_an_oversized_body_is_json_payload_too_large(app: Flask, auth: Auth) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 100
    response = app.test_client().post("/api/v1/events", json={"event_id": "x" * 200},
                                      headers=auth("pos"))
    assert response.status_code == 413
    assert_error_shape(response.json, "payload_too_large")
