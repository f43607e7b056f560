"""POST /api/v1/rules/backtests: marketing's backtest over HTTP, as JSON or as a page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from loyalty.engine import read_rule_dir
from tests.conftest import RULES_DIR
from tests.integration.helpers import KITCHEN_DOUBLE

Auth = Callable[[str], dict[str, str]]
AT = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)


def record(client: FlaskClient, auth: Auth) -> None:
    pos = auth("pos")
    client.post("/api/v1/members", headers=pos, json={
        "member_id": "M-1", "enrolled_at": (AT - timedelta(days=1)).isoformat()})
    answer = client.post("/api/v1/transactions", headers=pos, json={
        "transaction_id": "T-1", "type": "purchase", "member_id": "M-1",
        "occurred_at": AT.isoformat(), "currency": "CNY",
        "lines": [{"sku": "PAN", "category": "kitchen", "quantity": 2, "unit_price": "150.50"}],
        "payments": [{"method": "card", "amount": "301.00"}]})
    assert answer.status_code == 201, answer.get_json()


def body(**extra: object) -> dict[str, object]:
    return {"files": {**read_rule_dir(RULES_DIR), "kitchen-double.yaml": KITCHEN_DOUBLE},
            "from": (AT - timedelta(days=1)).isoformat(),
            "to": (AT + timedelta(days=1)).isoformat(), **extra}


def test_marketing_sees_the_extra_cost_as_json(client: FlaskClient, auth: Auth) -> None:
    record(client, auth)
    answer = client.post("/api/v1/rules/backtests", headers=auth("marketing"), json=body())
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["points_difference"] == 301
    assert report["cost_difference"] == "3.01"
    assert report["differing_decisions"] == 1
    assert report["replay_check"] == {"compared": 2, "differences": 0, "examples": []}


def test_the_report_as_a_page_with_charts(client: FlaskClient, auth: Auth) -> None:
    record(client, auth)
    answer = client.post("/api/v1/rules/backtests", headers=auth("marketing"),
                         json=body(format="html"))
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert page.startswith("<!DOCTYPE html>") and page.count("Plotly.newPlot(") == 2


def test_only_marketing_and_admin_backtest_and_bad_input_is_named(client: FlaskClient,
                                                                  auth: Auth) -> None:
    record(client, auth)
    assert client.post("/api/v1/rules/backtests", headers=auth("pos"),
                       json=body()).status_code == 403
    unknown = client.post("/api/v1/rules/backtests", headers=auth("marketing"),
                          json=body(against=7))
    assert unknown.status_code == 422
    assert unknown.get_json()["details"]["fields"] == {
        "against": ["There is no rules version 7."]}
    reversed_period = client.post("/api/v1/rules/backtests", headers=auth("marketing"),
                                  json={**body(), "to": (AT - timedelta(days=5)).isoformat()})
    assert reversed_period.status_code == 422
    assert "to" in reversed_period.get_json()["details"]["fields"]
