"""A member's profile over the real service and database: changing it, finding a member by
phone or e-mail, consent per channel, the history of changes, and erasure on request."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from loyalty.domain.contact import CHANNELS
from loyalty.services.context import ServiceContext
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.profile import personal_columns
from tests.api.test_contract import Contract

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)
MEMBERS = "/api/v1/members"
MEMBER = "/api/v1/members/{member_id}"
CHANGES = "/api/v1/members/{member_id}/changes"
ERASE = "/api/v1/members/{member_id}/personal-data"
ANN = {"member_id": "M-1001", "name": "Ann Chen", "email": "ann@example.com",
       "phone": "+86 138 0013 8000", "birth_date": "1990-05-01", "region": "Shanghai",
       "attributes": {"size": "M"}, "consents": {"sms": True}}
BOB = {"member_id": "M-1002", "name": "Bob", "email": "bob@example.com",
       "phone": "+86 138 0013 8001"}
FRIDGE = {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"}


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    return Contract(client, client.get("/api/v1/openapi.json").get_json())


@pytest.fixture
def members(client: FlaskClient, auth: Auth, ctx: ServiceContext) -> dict[str, str]:
    ctx.clock = lambda: NOW
    for body in (ANN, BOB):
        joined = client.post(MEMBERS, json=body, headers=auth("pos"))
        assert joined.status_code == 201, joined.json
    return {"ann": ANN["member_id"], "bob": BOB["member_id"]}


def url(template: str, member_id: str = "M-1001") -> str:
    return template.replace("{member_id}", member_id)


def patch(client: FlaskClient, headers: dict[str, str], body: Any,
          member_id: str = "M-1001") -> Any:
    return client.patch(url(MEMBER, member_id), json=body, headers=headers)


def read(client: FlaskClient, auth: Auth, member_id: str = "M-1001") -> dict[str, Any]:
    response = client.get(url(MEMBER, member_id), headers=auth("pos"))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def changes(client: FlaskClient, auth: Auth, member_id: str = "M-1001",
            query: str = "") -> list[dict[str, Any]]:
    response = client.get(url(CHANGES, member_id) + query, headers=auth("adjust"))
    assert response.status_code == 200, response.json
    found: list[dict[str, Any]] = response.json["changes"]
    return found


# --- finding a member -------------------------------------------------------------------------

@pytest.mark.parametrize("phone", ["138 0013 8000", "+8613800138000", "0086-138-0013-8000",
                                   "(+86) 138.0013.8000"])
def test_a_phone_written_as_a_till_knows_it_finds_the_member(
        client: FlaskClient, auth: Auth, members: dict[str, str], phone: str) -> None:
    response = client.get(MEMBERS, query_string={"phone": phone}, headers=auth("pos"))
    assert response.status_code == 200, response.json
    assert response.json == read(client, auth)
    assert response.json["phone"] == "+8613800138000"


@pytest.mark.parametrize("role", ["pos", "marketing", "adjust", "admin"])
def test_an_email_in_any_case_finds_the_member(client: FlaskClient, auth: Auth,
                                               members: dict[str, str], role: str) -> None:
    response = client.get(MEMBERS, query_string={"email": "  ANN@Example.COM "},
                          headers=auth(role))
    assert response.status_code == 200, response.json
    assert response.json["member_id"] == "M-1001"


def test_a_phone_nobody_has_is_an_unknown_member(client: FlaskClient, auth: Auth,
                                                 members: dict[str, str]) -> None:
    response = client.get(MEMBERS, query_string={"phone": "138 0013 8009"},
                          headers=auth("pos"))
    assert (response.status_code, response.json["code"]) == (404, "unknown_member")
    assert response.json["details"] == {"phone": "138 0013 8009"}


@pytest.mark.parametrize(("query", "fields"), [
    ({}, {"phone", "email"}),
    ({"phone": "138 0013 8000", "email": "ann@example.com"}, {"phone", "email"}),
    ({"phone": "+86 12"}, {"phone"}),
    ({"phone": "call me"}, {"phone"}),
    ({"email": "not-an-address"}, {"email"}),
    ({"name": "Ann"}, {"name"}),
])
def test_a_lookup_needs_exactly_one_readable_phone_or_email(
        client: FlaskClient, auth: Auth, members: dict[str, str], query: dict[str, str],
        fields: set[str]) -> None:
    response = client.get(MEMBERS, query_string=query, headers=auth("pos"))
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert set(response.json["details"]["fields"]) == fields


# --- changing the profile ---------------------------------------------------------------------

def test_a_corrected_email_is_stored_as_enrolment_stores_it_and_kept_in_the_history(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    response = patch(client, auth("pos"), {"email": " Ann.Chen@Example.com "})
    assert response.status_code == 200, response.json
    assert response.json["email"] == "ann.chen@example.com"
    assert read(client, auth)["email"] == "ann.chen@example.com"
    [latest, *_] = changes(client, auth)
    assert latest == {"change_id": latest["change_id"], "field": "email",
                      "old_value": "ann@example.com", "new_value": "ann.chen@example.com",
                      "changed_at": NOW.isoformat(), "actor": "test-pos", "source": "profile"}
    found = client.get(MEMBERS, query_string={"email": "ANN.CHEN@example.com"},
                       headers=auth("pos"))
    assert found.json["member_id"] == "M-1001"


def test_each_field_changed_is_one_row_and_unchanged_fields_none(
        client: FlaskClient, auth: Auth, members: dict[str, str], ctx: ServiceContext) -> None:
    before = changes(client, auth)
    later = NOW + timedelta(hours=1)
    ctx.clock = lambda: later
    response = patch(client, auth("adjust"), {
        "name": "Ann Chen", "phone": "13800138000", "birth_date": "1990-05-02",
        "gender": "female", "region": None, "attributes": {"size": None, "shoe": 38},
        "tags": ["newsletter"]})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["name"], body["phone"], body["birth_date"], body["gender"], body["region"],
            body["attributes"], body["tags"]) == (
        "Ann Chen", "+8613800138000", "1990-05-02", "female", None, {"shoe": 38},
        ["newsletter"])
    new = changes(client, auth)[:-len(before)]
    assert {(c["field"], _text(c["old_value"]), _text(c["new_value"])) for c in new} == {
        ("birth_date", "1990-05-01", "1990-05-02"), ("gender", None, "female"),
        ("region", "Shanghai", None), ("attributes.size", "M", None),
        ("attributes.shoe", None, "38"), ("tags", "['welcomed']", "['newsletter']")}
    assert {(c["actor"], c["changed_at"], c["source"]) for c in new} == {
        ("test-adjust", later.isoformat(), "profile")}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def test_the_same_values_written_another_way_change_nothing(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    before = changes(client, auth)
    response = patch(client, auth("pos"), {"phone": "0086 138 0013 8000",
                                           "email": "ANN@example.com", "name": "Ann Chen",
                                           "consents": {"sms": True, "push": False}})
    assert response.status_code == 200, response.json
    assert changes(client, auth) == before


@pytest.mark.parametrize(("field", "value"), [("phone", "138-0013-8001"),
                                              ("email", "BOB@example.com")])
def test_a_phone_or_email_that_belongs_to_someone_else_is_refused(
        client: FlaskClient, auth: Auth, members: dict[str, str], field: str,
        value: str) -> None:
    before, history = read(client, auth), changes(client, auth)
    response = patch(client, auth("pos"), {field: value, "name": "Ann C."})
    assert (response.status_code, response.json["code"]) == (409, "member_exists")
    assert response.json["details"] == {"field": field}
    assert "M-1002" not in response.json["message"]
    assert read(client, auth) == before
    assert changes(client, auth) == history


@pytest.mark.parametrize("body", [
    {"tier": "gold"}, {"points": {"available": 1_000_000}}, {"member_id": "M-9"},
    {"vip": True}, {"erased_at": None}, {"name": "Ann", "lifecycle_stage": "mature"},
    {"colour": "blue"}, {"birth_date": "1990-13-01"}, {"phone": "+86 12"},
    {"email": "nobody"}, {"consents": {"fax": True}}, {"consents": {"sms": "yes"}},
    {"consents": {"sms": 1}}, {"consents": None},
    {"attributes": None}, {"tags": None}, {"name": ""}, {"name": "x" * 201},
    {"attributes": {f"a{n}": n for n in range(50)}},
])
def test_unknown_read_only_or_malformed_fields_are_refused_and_nothing_changes(
        client: FlaskClient, auth: Auth, members: dict[str, str], body: Any) -> None:
    before, history = read(client, auth), changes(client, auth)
    response = patch(client, auth("pos"), body)
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert read(client, auth) == before
    assert changes(client, auth) == history


def test_a_read_only_field_is_named_with_what_may_be_changed(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    response = patch(client, auth("pos"), {"tier": "gold", "name": "Ann"})
    [message] = response.json["details"]["fields"]["tier"]
    assert "may change: name, email, phone" in message


def test_an_unknown_member_is_not_found(client: FlaskClient, auth: Auth,
                                        members: dict[str, str]) -> None:
    response = patch(client, auth("pos"), {"name": "Zed"}, member_id="M-404")
    assert (response.status_code, response.json["code"]) == (404, "unknown_member")
    response = client.get(url(CHANGES, "M-404"), headers=auth("pos"))
    assert (response.status_code, response.json["code"]) == (404, "unknown_member")


@pytest.mark.parametrize("role", ["marketing", "marketing_lead"])
def test_marketing_may_find_a_member_but_not_change_them(
        client: FlaskClient, auth: Auth, members: dict[str, str], role: str) -> None:
    response = patch(client, auth(role), {"name": "Eve"})
    assert (response.status_code, response.json["code"]) == (403, "forbidden")
    assert read(client, auth)["name"] == "Ann Chen"


def test_concurrent_edits_of_one_member_lose_no_change(
        app: Flask, auth: Auth, members: dict[str, str]) -> None:
    headers = auth("pos")
    edits = [{"attributes": {f"k{n}": n}} for n in range(6)] + [
        {"consents": {channel: True}} for channel in ("email", "push", "phone")]
    answers: list[int] = []

    def send(body: dict[str, Any]) -> None:
        answers.append(app.test_client().patch(url(MEMBER), json=body,
                                               headers=headers).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(edits)
    member = read(app.test_client(), auth)
    assert member["attributes"] == {"size": "M", **{f"k{n}": n for n in range(6)}}
    assert member["consents"] == dict.fromkeys(CHANNELS, True)
    history = changes(app.test_client(), auth, query="?limit=200")
    assert sorted(c["field"] for c in history if c["new_value"] is not False)[:-1] == sorted(
        [f"attributes.k{n}" for n in range(6)] + ["consents.email", "consents.phone",
                                                    "consents.push"])


def test_two_members_given_one_phone_at_once_leave_it_to_one(
        app: Flask, auth: Auth, members: dict[str, str]) -> None:
    headers = auth("pos")
    answers: dict[str, int] = {}

    def send(member_id: str) -> None:
        answers[member_id] = app.test_client().patch(
            url(MEMBER, member_id), json={"phone": "138 0013 8099"},
            headers=headers).status_code

    threads = [threading.Thread(target=send, args=(m,)) for m in ("M-1001", "M-1002")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 409]
    owners = [m for m in ("M-1001", "M-1002")
              if read(app.test_client(), auth, m)["phone"] == "+8613800138099"]
    assert len(owners) == 1


# --- consent ------------------------------------------------------------------------------

def test_consent_given_at_enrolment_is_shown_and_kept_in_the_history(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    assert read(client, auth)["consents"] == {"sms": True, "email": False, "push": False,
                                              "phone": False}
    assert read(client, auth, "M-1002")["consents"] == dict.fromkeys(CHANNELS, False)
    assert changes(client, auth) == [{
        "change_id": 1, "field": "consents.sms", "old_value": False, "new_value": True,
        "changed_at": NOW.isoformat(), "actor": "test-pos", "source": "consent"}]


@pytest.mark.parametrize("consents", [{"fax": True}, {"sms": "yes"}, {"sms": 1}, ["sms"]])
def test_an_enrolment_with_consent_on_no_known_channel_is_refused(
        client: FlaskClient, auth: Auth, members: dict[str, str], consents: Any) -> None:
    response = client.post(MEMBERS, json={"member_id": "M-1003", "consents": consents},
                           headers=auth("pos"))
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert [f.split(".")[0] for f in response.json["details"]["fields"]] == ["consents"]
    assert client.get(url(MEMBER, "M-1003"), headers=auth("pos")).status_code == 404


def test_consent_is_given_and_withdrawn_per_channel_the_rest_kept(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    response = patch(client, auth("pos"), {"consents": {"email": True, "sms": False}})
    assert response.json["consents"] == {"sms": False, "email": True, "push": False,
                                         "phone": False}
    response = patch(client, auth("pos"), {"consents": {"push": True}})
    assert response.json["consents"] == {"sms": False, "email": True, "push": True,
                                         "phone": False}
    consent = [(c["field"], c["old_value"], c["new_value"]) for c in changes(client, auth)
               if c["source"] == "consent"]
    assert consent == [("consents.push", False, True), ("consents.email", False, True),
                       ("consents.sms", True, False), ("consents.sms", False, True)]


def test_the_history_is_paged_newest_first(client: FlaskClient, auth: Auth,
                                           members: dict[str, str]) -> None:
    for n in range(5):
        assert patch(client, auth("pos"), {"name": f"Ann {n}"}).status_code == 200
    first = client.get(url(CHANGES) + "?limit=2", headers=auth("pos")).json
    assert [c["new_value"] for c in first["changes"]] == ["Ann 4", "Ann 3"]
    rest = client.get(url(CHANGES) + f"?limit=10&cursor={first['next_cursor']}",
                      headers=auth("pos")).json
    assert [c["new_value"] for c in rest["changes"]] == ["Ann 2", "Ann 1", "Ann 0", True]
    assert rest["next_cursor"] is None


# --- erasure ------------------------------------------------------------------------------

def erase(client: FlaskClient, headers: dict[str, str], member_id: str = "M-1001",
          reason: str | None = "the member asked to be forgotten") -> Any:
    return client.delete(url(ERASE, member_id), json={"reason": reason} if reason else None,
                         headers=headers)


def test_erasure_anonymises_the_member_and_keeps_their_points(
        client: FlaskClient, auth: Auth, members: dict[str, str], ctx: ServiceContext) -> None:
    bought = client.post("/api/v1/transactions", headers=auth("pos"), json={
        "transaction_id": "S12-1", "type": "purchase", "member_id": "M-1001",
        "occurred_at": NOW.isoformat(), "lines": [FRIDGE]})
    assert bought.status_code == 201, bought.json
    patch(client, auth("pos"), {"phone": "138 0013 8002"})
    before = read(client, auth)
    ledger = client.get(url(MEMBER) + "/ledger", headers=auth("pos")).json["entries"]

    response = erase(client, auth("admin"))
    assert response.status_code == 200, response.json
    assert response.json == {"member_id": "M-1001", "erased_at": NOW.isoformat(),
                             "erased_now": True}
    after = read(client, auth)
    assert {k: after[k] for k in ("name", "email", "phone", "birth_date", "gender", "region",
                                  "attributes", "consents", "erased_at")} == {
        "name": None, "email": None, "phone": None, "birth_date": None, "gender": None,
        "region": None, "attributes": {}, "consents": dict.fromkeys(CHANNELS, False),
        "erased_at": NOW.isoformat()}
    personal = {"name", "email", "phone", "birth_date", "gender", "region", "attributes",
                "consents", "erased_at"}
    assert {k: v for k, v in after.items() if k not in personal} == \
        {k: v for k, v in before.items() if k not in personal}
    assert client.get(url(MEMBER) + "/ledger", headers=auth("pos")).json["entries"] == ledger
    assert verify_ledger(ctx) == []


def test_erasure_scrubs_personal_values_from_the_history_and_the_messages(
        client: FlaskClient, auth: Auth, members: dict[str, str], ctx: ServiceContext) -> None:
    purchase = {"transaction_id": "S12-1", "type": "purchase", "member_id": "M-1001",
                "occurred_at": NOW.isoformat(), "lines": [FRIDGE]}
    receipt = client.post("/api/v1/transactions", headers=auth("pos"), json=purchase).json
    patch(client, auth("pos"), {"email": "ann.chen@example.com", "attributes": {"shoe": 38},
                                "consents": {"email": True}})
    assert _messages(ctx, "M-1001"), "the ice maker's notification was stored"
    assert erase(client, auth("admin")).status_code == 200

    assert any(n.get("message") for n in receipt["notifications"]), receipt
    replayed = client.post("/api/v1/transactions", headers=auth("pos"), json=purchase).json
    assert replayed["points"] == receipt["points"]
    assert [n["message"] for n in replayed["notifications"]] == [""] * len(
        receipt["notifications"])

    history = changes(client, auth)
    personal = [c for c in history if c["field"].split(".")[0] in
                {"name", "email", "phone", "birth_date", "gender", "region", "attributes"}]
    assert personal and all(c["old_value"] is None and c["new_value"] is None
                            for c in personal)
    erased = {c["field"] for c in history if c["source"] == "erasure"}
    assert erased == {"name", "email", "phone", "birth_date", "region", "attributes.size",
                      "attributes.shoe", "consents.sms", "consents.email"}
    consent = [(c["field"], c["old_value"], c["new_value"]) for c in history
               if c["source"] == "consent"]
    assert ("consents.email", False, True) in consent
    for row in _messages(ctx, "M-1001"):
        assert not any(value for value in row.values()), row
    assert all(any(row.values()) for row in _messages(ctx, "M-1002")) or \
        not _messages(ctx, "M-1002")


def _messages(ctx: ServiceContext, member_id: str) -> list[dict[str, Any]]:
    """The personal text of the member's stored notifications, column by column."""
    [(table, names)] = [(tb, n) for tb, n in personal_columns() if tb.name == "notifications"]
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(*(table.c[name] for name in names)).where(table.c.member_id == member_id))
        return [dict(row._mapping) for row in rows]


def test_erasure_is_audited_with_who_and_why_and_repeating_it_is_harmless(
        client: FlaskClient, auth: Auth, members: dict[str, str], ctx: ServiceContext) -> None:
    assert erase(client, auth("admin")).status_code == 200
    history = changes(client, auth)
    ctx.clock = lambda: NOW + timedelta(days=1)
    again = client.delete(url(ERASE) + "?reason=asked+again", headers=auth("admin"))
    assert again.status_code == 200, again.json
    assert again.json == {"member_id": "M-1001", "erased_at": NOW.isoformat(),
                          "erased_now": False}
    assert changes(client, auth) == history
    log = client.get("/api/v1/audit?action=member.erased", headers=auth("admin")).json
    [entry] = log["entries"]
    assert (entry["actor"], entry["subject"], entry["reason"], entry["at"]) == (
        "test-admin", "M-1001", "the member asked to be forgotten", NOW.isoformat())
    assert "Ann" not in str(entry)


def test_an_erased_member_keeps_earning_at_the_till_but_their_profile_is_closed(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    assert erase(client, auth("admin")).status_code == 200
    refused = patch(client, auth("pos"), {"name": "Ann", "consents": {"sms": True}})
    assert (refused.status_code, refused.json["code"]) == (409, "member_erased")
    bought = client.post("/api/v1/transactions", headers=auth("pos"), json={
        "transaction_id": "S12-2", "type": "purchase", "member_id": "M-1001",
        "occurred_at": NOW.isoformat(), "lines": [FRIDGE]})
    assert bought.status_code == 201, bought.json
    assert bought.json["points"]["earned"] > 0
    lookup = client.get(MEMBERS, query_string={"phone": ANN["phone"]}, headers=auth("pos"))
    assert lookup.status_code == 404
    again = client.post(MEMBERS, json={**ANN, "member_id": "M-2001"}, headers=auth("pos"))
    assert again.status_code == 201, again.json


@pytest.mark.parametrize("reason", [None, "   "])
def test_an_erasure_without_a_reason_is_refused_and_nothing_changes(
        client: FlaskClient, auth: Auth, members: dict[str, str], reason: str | None) -> None:
    before = read(client, auth)
    response = client.delete(url(ERASE), json={"reason": reason} if reason else None,
                             headers=auth("admin"))
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert list(response.json["details"]["fields"]) == ["reason"]
    assert read(client, auth) == before


def test_two_different_reasons_are_refused(client: FlaskClient, auth: Auth,
                                           members: dict[str, str]) -> None:
    response = client.delete(url(ERASE) + "?reason=one", json={"reason": "two"},
                             headers=auth("admin"))
    assert (response.status_code, response.json["code"]) == (422, "validation_error")
    assert read(client, auth)["erased_at"] is None


@pytest.mark.parametrize("role", ["pos", "adjust", "marketing", "marketing_lead"])
def test_only_an_administrator_erases(client: FlaskClient, auth: Auth,
                                      members: dict[str, str], role: str) -> None:
    response = erase(client, auth(role))
    assert (response.status_code, response.json["code"]) == (403, "forbidden")
    assert read(client, auth)["name"] == "Ann Chen"


def test_erasing_an_unknown_member_is_not_found(client: FlaskClient, auth: Auth,
                                                members: dict[str, str]) -> None:
    response = erase(client, auth("admin"), member_id="M-404")
    assert (response.status_code, response.json["code"]) == (404, "unknown_member")


def test_erasure_deletes_the_member_s_relatives_and_their_dates(
        client: FlaskClient, auth: Auth, members: dict[str, str], ctx: ServiceContext) -> None:
    for member_id, name in (("M-1001", "Mei"), ("M-1002", "Jo")):
        relatives = url(MEMBER, member_id) + "/relatives"
        added = client.post(relatives, headers=auth("pos"), json={
            "relative_id": f"REL-{member_id}", "relation": "spouse", "name": name})
        assert added.status_code == 201, added.json
        dated = client.post(url(MEMBER, member_id) + "/dates", headers=auth("pos"), json={
            "date_id": f"DATE-{member_id}", "kind": "birthday", "month": 12, "day": 3,
            "relative_id": f"REL-{member_id}"})
        assert dated.status_code == 201, dated.json
    with ctx.uow() as uow:  # the reminder the sweep raised a week before her birthday
        uow.connection.execute(t.events.insert().values(
            event_id="important_date:DATE-M-1001:2026", member_id="M-1001",
            type="important_date", occurred_at=NOW, recorded_at=NOW, origin="sweep",
            attributes={"kind": "birthday", "relation": "spouse", "name": "Mei",
                        "date": "2026-12-03", "days_ahead": 7}))
        uow.commit()
    assert erase(client, auth("admin")).status_code == 200
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        left = {table.name: conn.execute(select(table.c.member_id)).scalars().all()
                for table in (t.member_relatives, t.important_dates)}
        stored = conn.execute(select(t.idempotency_keys.c.response).where(
            t.idempotency_keys.c.member_id == "M-1001")).scalars().all()
        [reminder] = conn.execute(select(t.events.c.attributes).where(
            t.events.c.type == "important_date")).scalars().all()
    assert left == {"member_relatives": ["M-1002"], "important_dates": ["M-1002"]}
    assert "Mei" not in str(stored)
    assert reminder == {"kind": "birthday", "relation": "spouse", "name": "",
                        "date": "2026-12-03", "days_ahead": 7}
    assert "Mei" not in str(client.get(url(MEMBER) + "/relatives", headers=auth("pos")).json)


def merge_bob_into_ann(client: FlaskClient, auth: Auth) -> None:
    merged = client.post(url(MEMBER) + "/merge", headers=auth("admin"), json={
        "merge_id": "MRG-1", "duplicate_id": "M-1002", "reason": "enrolled twice"})
    assert merged.status_code in (200, 201), merged.json


def test_a_merged_duplicate_s_phone_still_finds_the_survivor_and_is_not_given_away(
        client: FlaskClient, auth: Auth, members: dict[str, str]) -> None:
    merge_bob_into_ann(client, auth)
    found = client.get(MEMBERS, query_string={"phone": "138 0013 8001"}, headers=auth("pos"))
    assert (found.status_code, found.json["member_id"]) == (200, "M-1001"), found.json
    client.post(MEMBERS, json={"member_id": "M-1003"}, headers=auth("pos"))
    taken = patch(client, auth("pos"), {"phone": "138 0013 8001"}, member_id="M-1003")
    assert (taken.status_code, taken.json["code"]) == (409, "member_exists")
    refused = patch(client, auth("pos"), {"name": "Bob"}, member_id="M-1002")
    assert (refused.status_code, refused.json["code"]) == (409, "member_merged")
    assert refused.json["details"]["merged_into"] == "M-1001"


def test_erasure_also_erases_the_duplicates_merged_into_the_member(
        client: FlaskClient, auth: Auth, members: dict[str, str], ctx: ServiceContext) -> None:
    merge_bob_into_ann(client, auth)
    assert erase(client, auth("admin")).status_code == 200
    m = t.members.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(m.member_id, m.name, m.email, m.phone, m.erased_at).order_by(m.member_id))
        people = {row.member_id: row for row in rows}
        history = uow.connection.execute(select(t.member_changes)).all()
    for member_id in ("M-1001", "M-1002"):
        row = people[member_id]
        assert (row.name, row.email, row.phone) == (None, None, None), member_id
        assert row.erased_at == NOW
    for change in history:
        assert "bob" not in str((change.old_value, change.new_value)).lower(), change
        assert "8001" not in str((change.old_value, change.new_value)), change
    found = client.get(MEMBERS, query_string={"phone": "138 0013 8001"}, headers=auth("pos"))
    assert found.status_code == 404


# --- the served document --------------------------------------------------------------------

def test_every_profile_answer_matches_the_served_document(
        contract: Contract, auth: Auth, members: dict[str, str]) -> None:
    pos, admin = auth("pos"), auth("admin")
    contract.call("GET", f"{MEMBERS}?phone=13800138000", MEMBERS, pos, status=200)
    contract.call("GET", f"{MEMBERS}?phone=13800138009", MEMBERS, pos, status=404)
    contract.call("GET", MEMBERS, MEMBERS, pos, status=422)
    contract.call("PATCH", url(MEMBER), MEMBER, pos, {"name": "Ann C."}, status=200)
    contract.call("PATCH", url(MEMBER), MEMBER, pos, {"phone": BOB["phone"]}, status=409)
    contract.call("PATCH", url(MEMBER, "M-9"), MEMBER, pos, {"name": "X"}, status=404)
    contract.call("PATCH", url(MEMBER), MEMBER, pos, {"tier": "gold"}, status=422)
    contract.call("GET", url(CHANGES), CHANGES, pos, status=200)
    contract.call("GET", url(CHANGES, "M-9"), CHANGES, pos, status=404)
    contract.call("DELETE", url(ERASE), ERASE, admin, {"reason": "asked"}, status=200)
    contract.call("DELETE", url(ERASE, "M-9"), ERASE, admin, {"reason": "asked"}, status=404)
    contract.call("DELETE", url(ERASE), ERASE, admin, status=422)
    contract.call("PATCH", url(MEMBER), MEMBER, pos, {"name": "Ann"}, status=409)
    contract.call("GET", url(MEMBER), MEMBER, pos, status=200)
