"""Every response the service really sends matches what the served OpenAPI document says."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator

from loyalty.engine import read_rule_dir
from tests.conftest import RULES_DIR

Auth = Callable[[str], dict[str, str]]


def resolved(node: Any, components: dict[str, Any]) -> Any:
    """`node` with every `#/components/schemas/...` reference replaced by its schema."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return resolved(components[ref.rsplit("/", 1)[-1]], components)
        return {key: resolved(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(item, components) for item in node]
    return node


class Contract:
    """Calls the API and checks each answer against the operation's documented response."""

    def __init__(self, client: FlaskClient, spec: dict[str, Any]) -> None:
        self.client = client
        self.spec = spec
        self.components = spec["components"]["schemas"]
        self.checked: set[tuple[str, str, int]] = set()

    def call(self, method: str, path: str, template: str, headers: dict[str, str],
             body: Any = None, *, status: int) -> dict[str, Any]:
        response = self.client.open(path, method=method, json=body, headers=headers)
        data: dict[str, Any] = response.get_json()
        assert response.status_code == status, data
        operation = self.spec["paths"][template][method.lower()]
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {template} does not document {status}"
        if "$ref" in documented:
            documented = self.spec["components"]["responses"][documented["$ref"].split("/")[-1]]
        schema = resolved(documented["content"]["application/json"]["schema"], self.components)
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in OAS30Validator(schema).iter_errors(data)]
        assert not errors, (method, template, status, errors)
        self.checked.add((method, template, status))
        return data


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    spec = client.get("/api/v1/openapi.json").get_json()
    return Contract(client, spec)


def test_every_answer_matches_the_served_document(contract: Contract, auth: Auth) -> None:
    pos, marketing, admin = auth("pos"), auth("marketing"), auth("admin")
    at = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    members, member = "/api/v1/members", "/api/v1/members/{member_id}"
    contract.call("POST", members, members, pos, {
        "member_id": "M-1001", "name": "Ann", "email": "ann@example.com",
        "phone": "+86 138 0000 0001", "enrolled_at": (at - timedelta(days=1)).isoformat(),
    }, status=201)
    contract.call("POST", members, members, pos, {"phone": "13800000001"}, status=409)
    contract.call("POST", members, members, pos, {"phone": "12345"}, status=422)
    purchase = {
        "transaction_id": "S12-1", "type": "purchase", "member_id": "M-1001",
        "occurred_at": at.isoformat(), "store_id": "S12", "channel": "store",
        "currency": "CNY",
        "lines": [{"sku": "FRIDGE-300", "category": "appliances", "quantity": 1,
                   "unit_price": "3999.00"},
                  {"sku": "FILTER-1", "category": "accessories", "quantity": 2,
                   "unit_price": 49.5}],
        "payments": [{"method": "card", "amount": "4098.00"}], "offer_codes": [],
    }
    tx = "/api/v1/transactions"
    contract.call("POST", f"{tx}?dry_run=true", tx, pos, purchase, status=200)
    outcome = contract.call("POST", tx, tx, pos, purchase, status=201)
    assert outcome["rewards"][0]["voucher_code"]
    contract.call("POST", f"{tx}?dry_run=true", tx, pos, purchase, status=200)
    contract.call("POST", tx, tx, pos, {**purchase, "store_id": "S13"}, status=409)
    assert contract.call("POST", tx, tx, pos, purchase, status=201) == outcome
    contract.call("POST", tx, tx, pos, {**purchase, "transaction_id": "S12-2",
                                        "member_id": "M-404"}, status=404)
    contract.call("POST", tx, tx, pos, {**purchase, "transaction_id": "S12-3",
                                        "lines": [{**purchase["lines"][0],
                                                   "unit_price": "99999999"}]}, status=422)
    returned = contract.call("POST", tx, tx, pos, {
        "transaction_id": "R12-1", "type": "return", "member_id": "M-1001",
        "occurred_at": (at + timedelta(days=1)).isoformat(), "original_transaction_id": "S12-1",
        "lines": [{"sku": "FILTER-1", "quantity": 1}],
    }, status=201)
    assert returned["returned_value"] == "49.50"
    assert returned["rewards_taken_back"] == returned["rewards_kept"] == []
    events = "/api/v1/events"
    contract.call("POST", events, events, pos, {
        "event_id": "E-1", "type": "complaint", "member_id": "M-1001",
        "occurred_at": at.isoformat(), "attributes": {"upheld": True},
    }, status=201)
    contract.call("POST", events, events, pos, {
        "event_id": "E-2", "type": "visit", "member_id": "M-404",
        "occurred_at": at.isoformat()}, status=404)
    contract.call("GET", f"{members}/M-1001", member, pos, status=200)
    contract.call("GET", f"{members}/M-404", member, pos, status=404)
    contract.call("GET", f"{members}/M-1001/ledger?limit=2", f"{member}/ledger", pos,
                  status=200)
    contract.call("GET", f"{members}/M-404/ledger", f"{member}/ledger", pos, status=404)
    contract.call("GET", f"{members}/M-1001/tiers", f"{member}/tiers", pos, status=200)
    contract.call("GET", f"{members}/M-404/tiers", f"{member}/tiers", pos, status=404)
    contract.call("GET", "/api/v1/rewards", "/api/v1/rewards", pos, status=200)
    redemptions = f"{member}/redemptions"
    redeem = {"redemption_id": "RD-1", "reward_id": "CINEMA-PAIR"}
    contract.call("POST", f"{members}/M-1001/redemptions", redemptions, pos, redeem, status=201)
    contract.call("POST", f"{members}/M-1001/redemptions", redemptions, pos,
                  {**redeem, "quantity": 2}, status=409)
    contract.call("POST", f"{members}/M-1001/redemptions", redemptions, pos,
                  {"redemption_id": "RD-2", "reward_id": "NOPE"}, status=404)
    contract.call("POST", f"{members}/M-1001/redemptions", redemptions, pos,
                  {"redemption_id": "RD-3", "reward_id": "EXTENDED-WARRANTY",
                   "quantity": 100}, status=422)
    voucher = outcome["rewards"][0]["voucher_code"]
    with_voucher = {**purchase, "transaction_id": "S12-4", "vouchers": [voucher],
                    "lines": [purchase["lines"][1]], "payments": []}
    used = contract.call("POST", tx, tx, pos, with_voucher, status=201)
    assert used["vouchers"] == [{"voucher_code": voucher, "reward_id": "ICE-MAKER",
                                 "quantity": 1, "status": "used"}]
    refused = contract.call("POST", tx, tx, pos, {**with_voucher, "transaction_id": "S12-5"},
                            status=422)
    assert refused["code"] == "voucher_refused"
    fridge_back = contract.call("POST", tx, tx, pos, {
        "transaction_id": "R12-2", "type": "return", "member_id": "M-1001",
        "occurred_at": (at + timedelta(days=1)).isoformat(), "original_transaction_id": "S12-1",
        "lines": [{"sku": "FRIDGE-300", "quantity": 1}],
    }, status=201)
    assert [r["used_by"] for r in fridge_back["rewards_kept"]] == ["S12-4"]
    contract.call("POST", "/api/v1/rules/explain", "/api/v1/rules/explain", marketing,
                  {"member_id": "M-1001", "event": {**purchase, "transaction_id": "X-1"}},
                  status=200)
    contract.call("GET", "/api/v1/rules/versions", "/api/v1/rules/versions", marketing,
                  status=200)
    backtests = "/api/v1/rules/backtests"
    period = {"from": (at - timedelta(days=2)).isoformat(),
              "to": (at + timedelta(days=2)).isoformat()}
    report = contract.call("POST", backtests, backtests, marketing,
                           {"files": read_rule_dir(RULES_DIR), **period}, status=200)
    assert report["differing_decisions"] == 0 and report["replay_check"]["differences"] == 0
    contract.call("POST", backtests, backtests, marketing,
                  {"files": {"earning.yaml": "rules: [1"}, **period}, status=422)
    contract.call("GET", "/api/v1/reports/overview", "/api/v1/reports/overview", marketing,
                  status=200)
    contract.call("GET", "/api/v1/reports/winback", "/api/v1/reports/winback", marketing,
                  status=200)
    kept = contract.call("GET", "/api/v1/reports/returned-rewards",
                         "/api/v1/reports/returned-rewards", marketing, status=200)
    assert [(r["outcome"], r["return_id"]) for r in kept["rewards"]] == [("kept", "R12-2")]
    contract.call("POST", "/api/v1/sweeps", "/api/v1/sweeps", admin,
                  {"as_of": datetime.now(UTC).isoformat()}, status=201)
    contract.call("GET", f"{members}/M-1001", member, pos, status=200)
    assert len(contract.checked) == 29  # every (method, path, status) called above
