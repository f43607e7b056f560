"""Hand-picked malformed requests: each is answered with a 4xx in the one JSON error shape that
names what is wrong, and records nothing, on SQLite and PostgreSQL alike. Edges just inside
the limits are accepted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from loyalty.api.parsing import MAX_DEPTH
from loyalty.api.schemas.fields import MAX_ENTRIES, MAX_FREE_FORM_BYTES
from loyalty.api.schemas.programme_requests import MAX_FILTER_VALUES
from loyalty.api.schemas.requests import (
    MAX_LINES,
    MAX_OFFER_CODES,
    MAX_PAYMENTS,
    MAX_TAGS,
    MAX_VOUCHERS,
)
from loyalty.services.context import ServiceContext
from tests.api.hostile import (
    MEMBER,
    NOW,
    Raw,
    Till,
    counts,
    error_shape_problems,
    event,
    line,
    named_fields,
    nested,
    open_till,
    purchase,
)
from tests.conftest import Reliability

Auth = Callable[[str], dict[str, str]]
TX, EVENTS, MEMBERS = "/api/v1/transactions", "/api/v1/events", "/api/v1/members"
BODY = "_body"
NUL, SURROGATE = "\x00", "\ud800"


@dataclass(frozen=True)
class Case:
    """A malformed request, the status it gets and the fields its answer names."""

    name: str
    method: str
    path: str
    body: Any
    status: int
    fields: frozenset[str] = frozenset()
    content_type: str = "application/json"


def case(name: str, method: str, path: str, body: Any, status: int = 422,
         fields: tuple[str, ...] = (), content_type: str = "application/json") -> Any:
    return pytest.param(Case(name, method, path, body, status, frozenset(fields), content_type),
                        id=name)


CASES = [
    # JSON the service does not read
    case("arrays nested 100000 deep", "POST", TX, b"[" * 100_000 + b"]" * 100_000,
         fields=(BODY,)),
    case("objects nested past the limit", "POST", EVENTS,
         event(attributes={"deep": nested(MAX_DEPTH)}), fields=(BODY,)),
    case("a 5000-digit integer", "POST", TX,
         purchase(lines=[{**line(0), "quantity": Raw("9" * 5000)}]), fields=(BODY,)),
    case("a 41-character number", "POST", TX,
         purchase(lines=[{**line(0), "quantity": Raw("1" + "0" * 40)}]), fields=(BODY,)),
    case("an exponent of a billion", "POST", EVENTS,
         event(attributes={"n": Raw("1e999999999")}), fields=(BODY,)),
    case("a billion decimal places", "POST", TX,
         purchase(lines=[{**line(0), "unit_price": Raw("1e-999999999")}]), fields=(BODY,)),
    case("NaN", "POST", TX, purchase(lines=[{**line(0), "unit_price": Raw("NaN")}]),
         fields=(BODY,)),
    case("Infinity", "POST", EVENTS, event(attributes={"n": Raw("-Infinity")}), fields=(BODY,)),
    case("bytes that are not UTF-8", "POST", TX, b'{"transaction_id": "\xed\xa0\x80"}',
         fields=(BODY,)),
    case("a byte-order mark", "POST", MEMBERS, "\ufeff{}", fields=(BODY,)),
    case("text in Latin-1", "POST", MEMBERS, '{"name": "J\xf6rg"}'.encode("latin-1"),
         fields=(BODY,)),
    case("a body cut short", "POST", TX, '{"transaction_id": "S12-1", "lines": [',
         fields=(BODY,)),
    case("null for a body", "POST", TX, Raw("null"), fields=(BODY,)),
    case("an array for a body", "POST", MEMBERS, [], fields=(BODY,)),
    case("a number for a body", "POST", EVENTS, Raw("42"), fields=(BODY,)),
    case("no body where one is required", "POST", MEMBERS, b"", fields=(BODY,)),
    case("only spaces for a body", "POST", TX, b" \n\t ", fields=(BODY,)),
    case("a form instead of JSON", "POST", MEMBERS, b"name=Ann",
         content_type="application/x-www-form-urlencoded", fields=(BODY,)),
    # text no database stores
    case("a NUL in a transaction id", "POST", TX, purchase(transaction_id=f"S12{NUL}1"),
         fields=("transaction_id",)),
    case("a NUL in a member id", "POST", MEMBERS, {"member_id": f"M-{NUL}"},
         fields=("member_id",)),
    case("a NUL in a line's sku", "POST", TX,
         purchase(lines=[{**line(0), "sku": f"A{NUL}"}]), fields=("lines.0.sku",)),
    case("a NUL in a tag", "POST", MEMBERS, {"tags": ["ok", f"v{NUL}ip"]}, fields=("tags.1",)),
    case("a NUL in an attribute's value", "POST", EVENTS,
         event(attributes={"note": ["fine", f"bad{NUL}"]}), fields=("attributes.note.1",)),
    case("a NUL in an attribute's name", "POST", MEMBERS, {"attributes": {f"a{NUL}": 1}},
         fields=(f"attributes.a{NUL}",)),
    case("a lone surrogate in a name", "POST", MEMBERS, {"name": f"Ann {SURROGATE}"},
         fields=("name",)),
    case("a lone surrogate in a payment method", "POST", TX,
         purchase(payments=[{"method": f"card{SURROGATE}", "amount": "3999.00"}]),
         fields=("payments.0.method",)),
    case("a NUL in a query parameter", "GET", "/api/v1/audit?actor=a%00b", None,
         fields=("actor",)),
    case("a NUL in the path", "GET", f"{MEMBERS}/M%00-1", None, status=404),
    case("a NUL in a draft id", "GET", "/api/v1/rules/drafts/d-%00", None, status=404),
    # instants at the edges of the calendar
    case("year 1 with an offset east of UTC", "POST", TX,
         purchase(occurred_at="0001-01-01T00:00:00+05:00"), fields=("occurred_at",)),
    case("year 1 in UTC", "POST", MEMBERS, {"enrolled_at": "0001-01-01T00:00:00Z"},
         fields=("enrolled_at",)),
    case("the last second of year 9999 west of UTC", "POST", "/api/v1/sweeps",
         {"as_of": "9999-12-31T23:59:59-05:00", "allow_future": True}, fields=("as_of",)),
    case("year 1 as of which to read a member", "GET",
         f"{MEMBERS}/{MEMBER}?as_of=0001-01-01T00:00:00%2B05:00", None, fields=("as_of",)),
    case("year 9999 as of which to read the catalogue", "GET",
         "/api/v1/rewards?as_of=9999-12-31T23:59:59-05:00", None, fields=("as_of",)),
    case("an audit period from year 1", "GET", "/api/v1/audit?from=0001-01-01T00:00:00Z",
         None, fields=("from",)),
    case("an adjustment dated year 1", "POST", f"{MEMBERS}/{MEMBER}/adjustments",
         {"adjustment_id": "A-1", "points": 5, "reason": "late delivery",
          "occurred_at": "0001-01-01T00:00:00+00:00"}, fields=("occurred_at",)),
    case("a backtest to year 9999", "POST", "/api/v1/rules/drafts/d-00000000/backtests",
         {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-14:00"}, fields=("to",)),
    # numbers past what the store holds
    case("a paging cursor of 20 digits", "GET", f"{MEMBERS}/{MEMBER}/ledger?cursor=" + "9" * 20,
         None, fields=("cursor",)),
    case("a paging cursor one past 64 bits", "GET", "/api/v1/audit?cursor=9223372036854775808",
         None, fields=("cursor",)),
    case("a version number past 32 bits", "POST", "/api/v1/rules/rollback",
         {"version": 2**31, "reason": "back"}, fields=("version",)),
    case("a version in the path past 32 bits", "GET", "/api/v1/rules/versions/" + "9" * 20,
         None, status=404),
    case("a version to compare past 9 digits", "GET", "/api/v1/rules/diff?from=1&to=" + "9" * 12,
         None, fields=("to",)),
    case("an attribute past 64 bits", "POST", EVENTS, event(attributes={"n": 2**70}),
         fields=("attributes",)),
    # more than a request may carry
    case("too many lines", "POST", TX,
         purchase(lines=[line(i) for i in range(MAX_LINES + 1)], payments=[]),
         fields=("lines",)),
    case("too many payments", "POST", TX,
         purchase(payments=[{"method": "card", "amount": "1"}] * (MAX_PAYMENTS + 1)),
         fields=("payments",)),
    case("too many offer codes", "POST", TX,
         purchase(offer_codes=["WELCOME"] * (MAX_OFFER_CODES + 1)), fields=("offer_codes",)),
    case("too many vouchers", "POST", TX,
         purchase(vouchers=[f"V{i}" for i in range(MAX_VOUCHERS + 1)]), fields=("vouchers",)),
    case("a voucher code past 40 characters", "POST", TX, purchase(vouchers=["V" * 41]),
         fields=("vouchers.0",)),
    case("too many tags", "POST", MEMBERS, {"tags": ["t"] * (MAX_TAGS + 1)}, fields=("tags",)),
    case("too many attributes", "POST", MEMBERS,
         {"attributes": {f"a{i}": i for i in range(MAX_ENTRIES + 1)}}, fields=("attributes",)),
    case("attributes too large", "POST", EVENTS,
         event(attributes={"note": "x" * MAX_FREE_FORM_BYTES}), fields=("attributes",)),
    case("too many actions to filter by", "GET",
         "/api/v1/audit?" + "&".join(["action=sweep.run"] * (MAX_FILTER_VALUES + 1)), None,
         fields=("action",)),
    case("a name of two million characters", "POST", MEMBERS, {"name": "x" * 2_000_000},
         fields=("name",)),
    # options the operation does not take
    case("a misspelt dry run", "POST", f"{TX}?dryrun=true", purchase(), fields=("dryrun",)),
    case("a query on an operation without one", "POST", f"{MEMBERS}?notify=yes",
         {"name": "Bo"}, fields=("notify",)),
    case("an unknown action to filter by", "GET", "/api/v1/audit?action=everything", None,
         fields=("action.0",)),
]


@pytest.fixture
def till(client: FlaskClient, ctx: ServiceContext, auth: Auth) -> Till:
    return open_till(client, ctx, auth)


@pytest.mark.parametrize("hostile", CASES)
def test_a_malformed_request_is_refused_in_the_error_shape_and_records_nothing(
    till: Till, ctx: ServiceContext, reliability: Reliability, hostile: Case
) -> None:
    before = counts(ctx)
    started = time.monotonic()
    response = till.send(hostile.method, hostile.path, hostile.body,
                         content_type=hostile.content_type)
    seconds = time.monotonic() - started
    recorded = counts(ctx) != before
    reliability.record(inputs=1, operations=1, lost=int(recorded))
    assert response.status_code == hostile.status, response.get_json()
    assert not error_shape_problems(response), response.get_data(as_text=True)[:300]
    assert named_fields(response) == hostile.fields, response.get_json()
    assert not recorded, (before, counts(ctx))
    assert seconds < 20, f"took {seconds:.1f} s"  # a number or nesting never stalls a worker


def test_every_problem_of_a_purchase_is_reported_at_once(till: Till, ctx: ServiceContext) -> None:
    before = counts(ctx)
    response = till.send("POST", TX, purchase(
        occurred_at="yesterday", currency="USD", transaction_id=f"S12{NUL}",
        lines=[{**line(0), "unit_price": "10.00"}],
        payments=[{"method": "card", "amount": "9.00"}]))
    assert response.status_code == 422
    assert named_fields(response) == {"occurred_at", "currency", "payments", "transaction_id"}
    assert response.get_json()["message"] == ("The request is not valid; check these fields: "
                                              "currency, occurred_at, payments, transaction_id.")
    assert counts(ctx) == before


def test_a_future_date_and_a_foreign_currency_are_reported_together(
    till: Till, ctx: ServiceContext
) -> None:
    response = till.send("POST", TX, purchase(
        occurred_at=(NOW + timedelta(days=3)).isoformat(), currency="USD",
        payments=[{"method": "card", "amount": "1.00"}]))
    assert response.status_code == 422
    fields = response.get_json()["details"]["fields"]
    horizon = ctx.settings.dry_run_horizon_days
    assert fields == {
        "occurred_at": ["Must not be more than 24 hours ahead. A dry run (?dry_run=true) may be "
                        f"up to {horizon:g} days ahead."],
        "currency": ["The programme's currency is CNY."],
        "payments": ["The payments add up to 1.00, the lines to 3999.00."],
    }


def test_a_bad_line_is_named_beside_the_other_problems(till: Till) -> None:
    response = till.send("POST", TX, purchase(
        currency="USD", lines=[line(0), {**line(1), "quantity": 0}, {**line(2), "sku": ""}],
        payments=[{"method": "card", "amount": "9.00"}]))
    assert named_fields(response) == {"currency", "lines.1.quantity", "lines.2.sku"}


def test_every_problem_of_an_enrolment_is_reported_at_once(till: Till, ctx: ServiceContext) -> None:
    before = counts(ctx)
    response = till.send("POST", MEMBERS, {
        "email": "not an address", "phone": "12345",
        "enrolled_at": (NOW + timedelta(days=2)).isoformat(), "tags": ["ok", ""]}, role="pos")
    assert response.status_code == 422
    assert named_fields(response) == {"email", "phone", "enrolled_at", "tags.1"}
    assert counts(ctx) == before


def test_the_edges_inside_the_limits_are_accepted(till: Till) -> None:
    lines = [line(i) for i in range(MAX_LINES)]
    response = till.send("POST", TX, purchase(
        lines=lines, payments=[{"method": "card", "amount": f"{MAX_LINES}.00"}],
        offer_codes=[]), role="pos")
    assert response.status_code == 201, response.get_json()
    deep = event("E-2", attributes={"deep": nested(MAX_DEPTH - 2),
                                    **{f"a{i}": i for i in range(MAX_ENTRIES - 1)}})
    assert till.send("POST", EVENTS, deep, role="pos").status_code == 201
    member = {"member_id": "M-2", "tags": ["t"] * MAX_TAGS,
              "attributes": {"big": 2**63 - 1, "small": -(2**63) + 1},
              "enrolled_at": "1900-01-01T00:00:00Z"}
    response = till.send("POST", MEMBERS, member, role="pos")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["attributes"] == member["attributes"]
    for as_of in ("1900-01-01T00:00:00Z", "2999-12-31T23:59:59.999999Z"):
        assert till.send("GET", f"{MEMBERS}/{MEMBER}?as_of={as_of}").status_code == 200


def test_sweeps_at_the_first_and_last_instants_accepted_run(till: Till) -> None:
    for as_of in ("1900-01-01T00:00:00Z", "2999-12-31T23:59:59Z"):
        response = till.send("POST", "/api/v1/sweeps", {"as_of": as_of, "allow_future": True})
        assert response.status_code == 201, response.get_json()
    member = till.send("GET", f"{MEMBERS}/{MEMBER}").get_json()
    assert member["points"]["available"] == 0  # the welcome points have long expired


def test_a_misspelt_dry_run_records_nothing_and_the_real_one_still_works(
    till: Till, ctx: ServiceContext
) -> None:
    before = counts(ctx)
    refused = till.send("POST", f"{TX}?dryrun=true", purchase(), role="pos")
    assert refused.status_code == 422
    assert refused.get_json()["details"]["fields"] == {"dryrun": ["Unknown field."]}
    assert counts(ctx) == before
    previewed = till.send("POST", f"{TX}?dry_run=true", purchase(), role="pos")
    assert previewed.status_code == 200
    assert counts(ctx) == before


def _sample_path(template: str) -> str:
    return (template.replace("{member_id}", MEMBER).replace("{version}", "1")
            .replace("{draft_id}", "d-00000000").replace("{name}", "earning.yaml"))


def test_every_operation_refuses_a_query_parameter_it_does_not_take(
    till: Till, ctx: ServiceContext, client: FlaskClient
) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operations = [(method.upper(), path) for path, item in document["paths"].items()
                  for method in item if method in {"get", "post", "put", "patch"}]
    issued = till.send("POST", f"{MEMBERS}/{MEMBER}/tokens", {}, role="pos")
    assert issued.status_code == 201, issued.get_json()
    member_app = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    before = counts(ctx)
    for method, template in operations:
        headers = member_app if template.split("/")[3] == "me" else None
        response = till.send(method, f"{_sample_path(template)}?zz_unknown=1", {},
                             headers=headers)
        assert response.status_code == 422, (method, template, response.get_json())
        fields = response.get_json()["details"]["fields"]
        assert fields["zz_unknown"] == ["Unknown field."], (method, template)
    assert len(operations) >= 30
    assert counts(ctx) == before


def test_the_document_lists_the_caps(client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    transaction = schemas["Transaction"]["properties"]
    assert transaction["lines"]["maxItems"] == MAX_LINES
    assert transaction["payments"]["maxItems"] == MAX_PAYMENTS
    assert transaction["offer_codes"]["maxItems"] == MAX_OFFER_CODES
    assert transaction["offer_codes"]["items"]["maxLength"] == 64
    assert transaction["vouchers"]["maxItems"] == MAX_VOUCHERS
    assert transaction["vouchers"]["items"]["maxLength"] == 40
    enrolment = schemas["EnrolMember"]["properties"]
    assert enrolment["tags"]["maxItems"] == MAX_TAGS
    assert enrolment["tags"]["items"]["maxLength"] == 64
    assert enrolment["attributes"]["maxProperties"] == MAX_ENTRIES
    assert schemas["Event"]["properties"]["attributes"]["maxProperties"] == MAX_ENTRIES
