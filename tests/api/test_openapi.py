"""The OpenAPI document describes the contract, and the docs page works with no internet."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from tests.api.test_roles import documented

#: Every operation of the README's role table.
EXPECTED_OPERATIONS = {(method.lower(), f"/api/v1{path}") for method, path in documented()}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json
    return document


def test_the_document_is_valid_openapi_3(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] == "loyalty"
    assert spec["info"]["version"] == "v1"


def test_every_endpoint_is_documented_with_bearer_security(spec: dict[str, Any]) -> None:
    operations = {
        (method, path) for path, item in spec["paths"].items() for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert operations == EXPECTED_OPERATIONS
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API key; on the member app's endpoints (/me), a member token.",
    }
    for method, path in operations:
        operation = spec["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": []}], (method, path)
        assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_errors_are_documented_in_the_one_shape(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "message", "details"}
    transaction = spec["paths"]["/api/v1/transactions"]["post"]
    assert "422" in transaction["responses"]


def test_the_transaction_contract_is_described(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["Transaction"]["properties"]) == {
        "transaction_id", "type", "member_id", "occurred_at", "store_id", "channel", "currency",
        "lines", "payments", "offer_codes", "original_transaction_id", "vouchers",
    }
    unit_price = schemas["Line"]["properties"]["unit_price"]
    assert [kind["type"] for kind in unit_price["oneOf"]] == ["string", "number"]
    assert set(schemas["TransactionOutcome"]["properties"]) == {
        "transaction_id", "member_id", "points", "balance", "tier", "tier_progress", "rewards",
        "offers", "privileges", "decisions", "returned_value", "vouchers", "rewards_taken_back",
        "rewards_kept", "notifications",
    }
    operation = spec["paths"]["/api/v1/transactions"]["post"]
    assert set(operation["responses"]) == {"200", "201", "401", "403", "404", "409", "422",
                                           "default"}
    assert [p["name"] for p in operation["parameters"]] == ["dry_run"]


def test_the_docs_page_uses_only_local_assets(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not re.search(r"https?://", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(asset.rsplit("/", 1)[-1] for asset in assets) == [
        "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css",
    ]
    for asset in assets:
        assert asset.startswith("/api/v1/docs/assets/")
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.data
        response.close()
    assert '"/api/v1/openapi.json"' in html
