"""Generated malformed requests: hypothesis takes a valid request of each kind a till, a
service desk or marketing sends and breaks it (a value replaced by something hostile, a field
added or dropped, an option misspelt, the bytes cut or spoilt). Every answer is a 2xx, or a
4xx in the one JSON error shape after which nothing more is recorded. On PostgreSQL each
request is also sent to the service on SQLite, and the two must answer alike."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import create_app
from loyalty.services.context import ServiceContext
from loyalty.services.keys import create_key
from loyalty.store.db import make_engine
from loyalty.store.migrate import upgrade
from tests.api.hostile import (
    MEMBER,
    NOW,
    Raw,
    Till,
    counts,
    dumps,
    error_shape_problems,
    event,
    line,
    named_fields,
    nested,
    open_till,
    purchase,
)
from tests.conftest import RULES_DIR, Reliability, on_postgres

Auth = Callable[[str], dict[str, str]]
JsonPath = tuple[Any, ...]


# -- valid requests of each kind ------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """A kind of request: how to build a valid one, numbered `n` so that ids differ."""

    method: str
    path: str
    body: Callable[[int], Any] | None
    query: tuple[tuple[str, str], ...] = ()


def _purchase(n: int) -> Any:
    return purchase(f"S-{n}", lines=[line(0), {**line(1), "quantity": 2}],
                    payments=[{"method": "card", "amount": "3.00"}], offer_codes=["WELCOME"])


def _return(n: int) -> Any:
    return {"transaction_id": f"R-{n}", "type": "return", "member_id": MEMBER,
            "occurred_at": NOW.isoformat(), "original_transaction_id": "S-0",
            "lines": [{"sku": "SKU-1", "quantity": 1}]}


KINDS = {
    "enrol": Kind("POST", "/api/v1/members", lambda n: {
        "member_id": f"M-{n}", "name": "Bo", "email": f"bo{n}@example.com",
        "phone": f"+86 138 {n % 10000:04d} 0002", "birth_date": "1990-05-01",
        "enrolled_at": (NOW - timedelta(days=3)).isoformat(), "channel": "store",
        "attributes": {"newsletter": True, "size": 38}, "tags": ["staff"]}),
    "purchase": Kind("POST", "/api/v1/transactions", _purchase),
    "dry run": Kind("POST", "/api/v1/transactions", _purchase, (("dry_run", "true"),)),
    "return": Kind("POST", "/api/v1/transactions", _return),
    "event": Kind("POST", "/api/v1/events", lambda n: event(
        f"E-{n}", type="complaint", attributes={"outcome": "upheld", "severity": "low"})),
    "redemption": Kind("POST", f"/api/v1/members/{MEMBER}/redemptions", lambda n: {
        "redemption_id": f"RD-{n}", "reward_id": "CINEMA-PAIR", "quantity": 1}),
    "adjustment": Kind("POST", f"/api/v1/members/{MEMBER}/adjustments", lambda n: {
        "adjustment_id": f"A-{n}", "points": 50, "reason": "late delivery",
        "occurred_at": NOW.isoformat()}),
    "sweep": Kind("POST", "/api/v1/sweeps", lambda n: {
        "as_of": NOW.isoformat(), "batch_size": 100}),
    "explain": Kind("POST", "/api/v1/rules/explain", lambda n: {
        "member_id": MEMBER, "event": _purchase(n)}),
    "member": Kind("GET", f"/api/v1/members/{MEMBER}", None, (("as_of", NOW.isoformat()),)),
    "ledger": Kind("GET", f"/api/v1/members/{MEMBER}/ledger", None,
                   (("limit", "5"), ("cursor", "3"))),
    "audit": Kind("GET", "/api/v1/audit", None,
                  (("action", "points.adjusted"), ("from", "2026-01-01T00:00:00Z"))),
    "catalogue": Kind("GET", "/api/v1/rewards", None, (("as_of", NOW.isoformat()),)),
}


# -- hostile values -------------------------------------------------------------------------

EDGE_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\ufeff", "\u202e", "🙂" * 70,
             "x" * 5000, "NaN", "null", "true", "-1", "0", "1e999", "M-1001", "M-1001 ",
             "m-1001", "CNY", "usd", "purchase", "return", "../../etc/passwd", "%00", "'; --"]
EDGE_NUMBERS = [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("9" * 5000),
                Raw("1e999999999"), Raw("1e-999999999"), Raw("-0"), Raw("1E400"),
                Raw("0.00001"), Raw("1" + "0" * 39), 2**31, 2**63, -(2**63) - 1, 10**30]
EDGE_INSTANTS = ["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z",
                 "9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59.999999Z",
                 "1899-12-31T23:59:59Z", "1900-01-01T00:00:00+00:01", "3000-01-01T00:00:00Z",
                 "2026-11-20T14:03:00", "2026-02-30T00:00:00Z", "2026-11-20T24:00:00Z",
                 "2026-11-20T14:03:00+24:00", "2026-11-20T14:03:00-23:59", "2026-11-20"]


def _instant(moment: datetime, minutes: int) -> str:
    return moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat()


instants = st.one_of(
    st.sampled_from(EDGE_INSTANTS),
    st.builds(_instant, st.datetimes(min_value=datetime(1, 1, 1)), st.integers(-1439, 1439)),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: Raw(str(d))),
    st.sampled_from(EDGE_NUMBERS), st.sampled_from(EDGE_TEXT),
    st.text(st.characters(exclude_categories=()), max_size=20), instants,
)
values = st.one_of(
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=8),
    st.builds(nested, st.integers(25, 40)),
    st.lists(st.integers(0, 9), min_size=490, max_size=520),
    st.dictionaries(st.text(max_size=70), st.integers(), min_size=45, max_size=55),
)
QUERY_NAMES = ["dryrun", "dry_run", "DRY_RUN", "as_of", "cursor", "limit", "action", "from",
               "to", "actor", "subject", "x", "\x00", "\ufeff"]


# -- requests and how they are broken -------------------------------------------------------

@dataclass
class Request:
    kind: str
    method: str
    path: str
    body: Any
    query: list[tuple[str, str]]
    raw: bytes | None = None
    content_type: str = "application/json"
    broken: list[str] = field(default_factory=list)

    def url(self) -> str:
        pairs = "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}="
                         f"{quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in self.query)
        return f"{self.path}?{pairs}" if pairs else self.path

    def data(self) -> bytes | None:
        if self.raw is not None:
            return self.raw
        return None if self.body is None else dumps(self.body).encode("utf-8")


def paths(value: Any, here: JsonPath = ()) -> Iterator[JsonPath]:
    """Every place in a JSON value, itself first."""
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*here, index))


def replaced(value: Any, path: JsonPath, new: Any) -> Any:
    if not path:
        return new
    changed = copy.copy(value)
    changed[path[0]] = replaced(value[path[0]], path[1:], new)
    return changed


def dropped(value: Any, path: JsonPath) -> Any:
    changed = copy.copy(value)
    if len(path) == 1:
        del changed[path[0]]
        return changed
    changed[path[0]] = dropped(value[path[0]], path[1:])
    return changed


@st.composite
def hostile_requests(draw: st.DrawFn) -> Request:
    name = draw(st.sampled_from(sorted(KINDS)))
    kind = KINDS[name]
    number = draw(st.integers(1, 60))
    request = Request(name, kind.method, kind.path,
                      kind.body(number) if kind.body else None, list(kind.query))
    for _ in range(draw(st.integers(0, 3))):  # none: a valid request between the others
        how = draw(st.sampled_from(["value", "value", "value", "add", "drop", "query",
                                    "query value", "bytes"]))
        body = request.body
        if how == "value" and body is not None:
            where = draw(st.sampled_from(list(paths(body))))
            request.body = replaced(body, where, draw(values))
        elif how == "add" and isinstance(body, dict):
            objects = [p for p in paths(body) if isinstance(_at(body, p), dict)]
            where = draw(st.sampled_from(objects))
            key = draw(st.sampled_from(["dryrun", "Type", "member_id ", "__proto__"])
                       | st.text(st.characters(exclude_categories=()), max_size=8))
            request.body = replaced(body, where, {**_at(body, where), key: draw(values)})
        elif how == "drop" and body:
            places = [p for p in paths(body) if p]
            if places:
                request.body = dropped(body, draw(st.sampled_from(places)))
        elif how == "query":
            request.query.append((draw(st.sampled_from(QUERY_NAMES)),
                                  draw(st.sampled_from(EDGE_TEXT) | instants)))
        elif how == "query value" and request.query:
            index = draw(st.integers(0, len(request.query) - 1))
            request.query[index] = (request.query[index][0],
                                    draw(st.sampled_from(EDGE_TEXT) | instants
                                         | st.text(max_size=25)))
        elif how == "bytes" and body is not None:
            data = dumps(body).encode("utf-8")
            cut = draw(st.integers(0, len(data)))
            request.raw = draw(st.sampled_from([
                data[:cut], data[:cut] + b"\xff\xfe" + data[cut:], b"\xef\xbb\xbf" + data,
                data[:cut] + b"\x00" + data[cut:], data + b"garbage"]))
        else:
            continue
        request.broken.append(how)
    request.content_type = draw(st.sampled_from(["application/json"] * 9 + ["text/plain"]))
    return request


def _at(value: Any, path: JsonPath) -> Any:
    for step in path:
        value = value[step]
    return value


# -- the service, and a second one on SQLite to compare with -------------------------------

@dataclass
class Service:
    ctx: ServiceContext
    till: Till


def _prepare(till: Till) -> None:
    """A purchase to return against and some points to redeem and page through."""
    assert till.send("POST", "/api/v1/transactions", _purchase(0), role="pos").status_code == 201
    assert till.send("POST", f"/api/v1/members/{MEMBER}/adjustments", {
        "adjustment_id": "A-0", "points": 5000, "reason": "welcome back"}).status_code == 201


@pytest.fixture
def service(client: FlaskClient, ctx: ServiceContext, auth: Auth) -> Service:
    till = open_till(client, ctx, auth)
    _prepare(till)
    return Service(ctx, till)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Service | None]:
    """On PostgreSQL, the same service on SQLite, sent every request too; else None."""
    if not on_postgres():
        yield None
        return
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app: Flask = create_app({"database_url": url, "rules_dir": str(RULES_DIR),
                             "rules_refresh_seconds": 0.0, "key_cache_seconds": 0.0})
    app.config["TESTING"] = True
    ctx: ServiceContext = app.extensions["loyalty"]
    keys: dict[str, str] = {}

    def headers(role: str = "pos") -> dict[str, str]:
        keys.setdefault(role, create_key(ctx, role, f"mirror-{role}")[0])
        return {"Authorization": f"Bearer {keys[role]}"}

    till = open_till(app.test_client(), ctx, headers)
    _prepare(till)
    yield Service(ctx, till)
    ctx.engine.dispose()


def _answer(service: Service, request: Request) -> tuple[int, str | None, frozenset[str]]:
    before = counts(service.ctx)
    response = service.till.send(request.method, request.url(), request.data() or b"",
                                 content_type=request.content_type)
    assert response.status_code < 500, (request, response.get_data(as_text=True)[:500])
    body = response.get_json(silent=True)
    assert body is not None, (request, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        assert not error_shape_problems(response), (request, body)
        assert counts(service.ctx) == before, (request, response.status_code, body)
        return response.status_code, body["code"], frozenset(named_fields(response))
    return response.status_code, None, frozenset()


@dataclass
class Tally:
    inputs: int = 0
    operations: int = 0
    refused: int = 0
    lost: int = 0


def fuzz(service: Service, mirror: Service | None, reliability: Reliability,
         **options: Any) -> Tally:
    tally = Tally()

    @settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), **options)
    @given(request=hostile_requests())
    def each(request: Request) -> None:
        tally.inputs += 1
        before = counts(service.ctx)
        try:
            answer = _answer(service, request)
        except AssertionError:
            tally.lost += int(counts(service.ctx) != before)
            raise
        finally:
            tally.operations += 1
        tally.refused += answer[0] >= 400
        if mirror is not None:
            tally.operations += 1
            assert _answer(mirror, request) == answer, request

    try:
        each()
    finally:
        reliability.record(inputs=tally.inputs, operations=tally.operations, lost=tally.lost)
    return tally


def test_generated_malformed_requests_are_refused_and_record_nothing(
    service: Service, mirror: Service | None, reliability: Reliability
) -> None:
    tally = fuzz(service, mirror, reliability, max_examples=250, derandomize=True)
    assert tally.inputs >= 250 and tally.inputs // 2 < tally.refused < tally.inputs


@pytest.mark.slow
def test_many_generated_malformed_requests_are_refused_and_record_nothing(
    service: Service, mirror: Service | None, reliability: Reliability
) -> None:
    tally = fuzz(service, mirror, reliability, max_examples=4000)
    assert tally.inputs >= 4000
