"""What the hostile-input tests share: a till that sends exact bytes, the rows a request could
record, and the one error shape every refusal must have."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from loyalty.services.context import ServiceContext
from loyalty.store import tables as t

#: The service's clock in these tests, so a request means the same on every run and database.
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)
#: Everything a request of a till, a service desk or marketing could record.
RECORDS = (t.members, t.transactions, t.transaction_lines, t.events, t.ledger_entries,
           t.point_lots, t.member_rewards, t.adjustments, t.idempotency_keys, t.offers,
           t.rule_versions, t.rule_drafts)
MEMBER = "M-1001"


def counts(ctx: ServiceContext) -> dict[str, int]:
    """How many rows each table a request could write to holds."""
    with ctx.engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in RECORDS}


def error_shape_problems(response: TestResponse) -> list[str]:
    """Why `response` is not an error in the one JSON shape (empty when it is)."""
    if not response.is_json:
        return [f"not JSON: {response.content_type}"]
    body = response.get_json()
    if not isinstance(body, dict) or set(body) != {"code", "message", "details"}:
        return [f"not the error shape: {body!r}"[:300]]
    problems = []
    if not isinstance(body["code"], str) or not body["code"]:
        problems.append("no code")
    if not isinstance(body["message"], str) or not body["message"]:
        problems.append("no message")
    if not isinstance(body["details"], dict):
        problems.append("details is not an object")
    return problems


def named_fields(response: TestResponse) -> set[str]:
    """The fields a validation error names."""
    body = response.get_json()
    return set(body["details"].get("fields", {})) if isinstance(body, dict) else set()


class Raw(str):
    """JSON text written into a body as it is: numbers no encoder writes, constants."""


def dumps(value: Any) -> str:
    """JSON text of `value`, with `Raw` pieces written verbatim and lone surrogates escaped."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value)


@dataclass
class Till:
    """Sends requests with a key of the right role, as bytes exactly as given."""

    client: FlaskClient
    keys: Callable[[str], dict[str, str]]

    def send(self, method: str, path: str, body: Any = None, *, role: str = "admin",
             content_type: str = "application/json",
             headers: Mapping[str, str] | None = None) -> TestResponse:
        """`body`: bytes as they are, str as UTF-8 (lone surrogates escaped), else JSON."""
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str) and not isinstance(body, Raw):
            data = body.encode("utf-8", "surrogatepass")
        else:
            data = dumps(body).encode("utf-8")
        return self.client.open(path, method=method, data=data,
                                headers={**self.keys(role), "Content-Type": content_type,
                                         **(headers or {})})


def purchase(transaction_id: str = "S12-1", **changes: Any) -> dict[str, Any]:
    """A purchase by the member every test enrols, a day before `NOW`."""
    return {
        "transaction_id": transaction_id, "type": "purchase", "member_id": MEMBER,
        "occurred_at": (NOW - timedelta(days=1)).isoformat(), "store_id": "S12",
        "channel": "store", "currency": "CNY",
        "lines": [{"sku": "FRIDGE-300", "category": "appliances", "quantity": 1,
                   "unit_price": "3999.00"}],
        "payments": [{"method": "card", "amount": "3999.00"}], "offer_codes": [], **changes,
    }


def event(event_id: str = "E-1", **changes: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": "visit", "member_id": MEMBER,
            "occurred_at": (NOW - timedelta(days=1)).isoformat(), "attributes": {}, **changes}


def line(index: int) -> dict[str, Any]:
    return {"sku": f"SKU-{index}", "category": "homeware", "quantity": 1, "unit_price": "1.00"}


def nested(depth: int) -> Any:
    """A value that nests lists `depth` levels deep."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def open_till(client: FlaskClient, ctx: ServiceContext,
              keys: Callable[[str], dict[str, str]]) -> Till:
    """A till on the service clock `NOW`, with the member `MEMBER` enrolled a year ago."""
    ctx.clock = lambda: NOW
    till = Till(client, keys)
    response = till.send("POST", "/api/v1/members", {
        "member_id": MEMBER, "name": "Ann", "email": "ann@example.com",
        "enrolled_at": (NOW - timedelta(days=365)).isoformat()}, role="pos")
    assert response.status_code == 201, response.get_json()
    return till
