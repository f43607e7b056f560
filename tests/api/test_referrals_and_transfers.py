"""Referrals at enrolment and at the friend's first purchase, and `POST
/members/{id}/transfers`, over the real service and database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from loyalty.api.idempotency import REPLAY_HEADER
from loyalty.services.context import ServiceContext
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.api.test_contract import Contract

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)
MEMBERS = "/api/v1/members"
REFERRAL_POINTS = 500  # rules/referral.yaml


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    return Contract(client, client.get("/api/v1/openapi.json").get_json())


@pytest.fixture
def clock(ctx: ServiceContext) -> list[datetime]:
    now = [NOW]
    ctx.clock = lambda: now[0]
    return now


def enrol(client: FlaskClient, auth: Auth, member_id: str, **fields: Any) -> Any:
    return client.post(MEMBERS, json={"member_id": member_id, **fields}, headers=auth("pos"))


def buy(client: FlaskClient, auth: Auth, member_id: str, tx_id: str, amount: str,
        at: datetime = NOW) -> Any:
    response = client.post("/api/v1/transactions", headers=auth("pos"), json={
        "transaction_id": tx_id, "type": "purchase", "member_id": member_id,
        "occurred_at": at.isoformat(), "currency": "CNY",
        "lines": [{"sku": "KETTLE", "category": "small-appliances", "quantity": 1,
                   "unit_price": amount}]})
    assert response.status_code == 201, response.json
    return response.json


def give_back(client: FlaskClient, auth: Auth, member_id: str, tx_id: str,
              original: str, at: datetime = NOW) -> None:
    response = client.post("/api/v1/transactions", headers=auth("pos"), json={
        "transaction_id": tx_id, "type": "return", "member_id": member_id,
        "occurred_at": at.isoformat(), "original_transaction_id": original,
        "lines": [{"sku": "KETTLE", "quantity": 1}]})
    assert response.status_code == 201, response.json


def referral_entries(client: FlaskClient, auth: Auth, member_id: str) -> list[dict[str, Any]]:
    ledger = client.get(f"{MEMBERS}/{member_id}/ledger?limit=200", headers=auth("pos")).json
    return [e for e in ledger["entries"] if e["source"]["id"].startswith("referral:")
            and e["kind"] == "earn"]


def test_enrolment_records_who_referred_the_member(client: FlaskClient, auth: Auth,
                                                   clock: list[datetime]) -> None:
    assert enrol(client, auth, "M-ANN").status_code == 201
    joined = enrol(client, auth, "M-BOB", referred_by="M-ANN")
    assert joined.status_code == 201, joined.json
    assert joined.json["referred_by"] == "M-ANN"
    assert client.get(f"{MEMBERS}/M-BOB", headers=auth("pos")).json["referred_by"] == "M-ANN"
    assert client.get(f"{MEMBERS}/M-ANN", headers=auth("pos")).json["referred_by"] is None


@pytest.mark.parametrize(("fields", "says"), [
    ({"member_id": "M-BOB", "referred_by": "M-NOBODY"}, "There is no member"),
    ({"member_id": "M-ANN2", "referred_by": "M-ANN2"}, "cannot refer themselves"),
    # the same mailbox written another way: case, a +tag, the dots Gmail ignores
    ({"member_id": "M-BOB", "referred_by": "M-ANN", "email": "A.N.N+friend@GoogleMail.com"},
     "same e-mail"),
])
def test_an_unknown_referrer_or_the_member_themselves_is_refused_and_nobody_enrolled(
        client: FlaskClient, auth: Auth, clock: list[datetime], fields: dict[str, Any],
        says: str) -> None:
    assert enrol(client, auth, "M-ANN", email="ann@gmail.com").status_code == 201
    refused = client.post(MEMBERS, json=fields, headers=auth("pos"))
    assert refused.status_code == 422, refused.json
    assert refused.json["code"] == "validation_error"
    [message] = refused.json["details"]["fields"]["referred_by"]
    assert says in message
    assert client.get(f"{MEMBERS}/{fields['member_id']}", headers=auth("pos")).status_code == 404


def test_the_first_qualifying_purchase_rewards_the_referrer_once(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: list[datetime]) -> None:
    enrol(client, auth, "M-ANN")
    enrol(client, auth, "M-BOB", referred_by="M-ANN")
    small = buy(client, auth, "M-BOB", "T-1", "60.00")  # under referrals.min_purchase (100)
    assert referral_entries(client, auth, "M-ANN") == []
    first = buy(client, auth, "M-BOB", "T-2", "150.00")
    # the friend's receipt is the friend's: the referrer's reward is not on it
    assert first["points"]["earned"] == 150
    assert all(d["rule_id"] != "referral-bonus" for d in small["decisions"] + first["decisions"])
    [entry] = referral_entries(client, auth, "M-ANN")
    assert (entry["points"], entry["rule_id"], entry["source"]) == (
        REFERRAL_POINTS, "referral-bonus", {"type": "event", "id": "referral:M-BOB"})
    give_back(client, auth, "M-BOB", "R-2", "T-2")
    buy(client, auth, "M-BOB", "T-3", "150.00")
    buy(client, auth, "M-BOB", "T-4", "900.00")
    assert len(referral_entries(client, auth, "M-ANN")) == 1
    ann = client.get(f"{MEMBERS}/M-ANN", headers=auth("pos")).json
    assert "referrer" in ann["tags"]
    with ctx.engine.connect() as conn:
        event = conn.execute(select(t.events).where(
            t.events.c.event_id == "referral:M-BOB")).one()
    assert (event.member_id, event.type, event.origin) == ("M-ANN", "referral_qualified",
                                                          "referral")
    assert event.attributes == {"friend": "M-BOB", "transaction_id": "T-2", "total": "150.00"}
    assert verify_ledger(ctx) == []


def test_a_purchase_after_the_referral_window_rewards_nobody(
        client: FlaskClient, auth: Auth, clock: list[datetime]) -> None:
    enrol(client, auth, "M-ANN")
    enrol(client, auth, "M-BOB", referred_by="M-ANN")
    later = NOW + timedelta(days=91)  # referrals.within_days: 90
    clock[0] = later
    buy(client, auth, "M-BOB", "T-1", "500.00", at=later)
    assert referral_entries(client, auth, "M-ANN") == []


def test_a_referrer_who_later_took_the_friends_phone_is_not_rewarded(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: list[datetime]) -> None:
    """Same person, two memberships: found at the purchase when it was not at enrolment."""
    enrol(client, auth, "M-ANN", phone="+8613800000001")
    enrol(client, auth, "M-BOB", referred_by="M-ANN", phone="+8613800000002")
    with ctx.engine.begin() as conn:  # the two memberships now share a mailbox
        conn.execute(t.members.update().where(t.members.c.member_id == "M-ANN")
                     .values(email="bob@example.com"))
        conn.execute(t.members.update().where(t.members.c.member_id == "M-BOB")
                     .values(email="Bob+shop@example.com"))
    buy(client, auth, "M-BOB", "T-1", "300.00")
    assert referral_entries(client, auth, "M-ANN") == []


def test_a_phone_the_referrer_had_before_is_still_theirs(
        client: FlaskClient, auth: Auth, clock: list[datetime]) -> None:
    """The profile history remembers the referrer's old phone: a friend joining with it is the
    referrer under another membership."""
    enrol(client, auth, "M-ANN", phone="+8613800000001")
    changed = client.patch(f"{MEMBERS}/M-ANN", json={"phone": "+8613800000009"},
                           headers=auth("pos"))
    assert changed.status_code == 200, changed.json
    refused = enrol(client, auth, "M-BOB", referred_by="M-ANN", phone="+86 138 0000 0001")
    assert refused.status_code == 422, refused.json
    assert "same phone" in refused.json["details"]["fields"]["referred_by"][0]
    assert enrol(client, auth, "M-BOB", referred_by="M-ANN",
                 phone="+8613800000002").status_code == 201


def test_a_merged_referrer_is_the_member_who_survived_and_an_erased_one_is_not_rewarded(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: list[datetime]) -> None:
    for member_id in ("M-ANN", "M-ANNA", "M-CY"):
        enrol(client, auth, member_id)
    enrol(client, auth, "M-BOB", referred_by="M-ANN")
    enrol(client, auth, "M-DEE", referred_by="M-CY")
    members = t.members.c
    with ctx.engine.begin() as conn:  # Ann's duplicate was folded into Anna; Cy was erased
        conn.execute(t.members.update().where(members.member_id == "M-ANN")
                     .values(merged_into="M-ANNA"))
        conn.execute(t.members.update().where(members.member_id == "M-CY")
                     .values(erased_at=NOW))
    buy(client, auth, "M-BOB", "T-1", "150.00")
    buy(client, auth, "M-DEE", "T-2", "150.00")
    assert referral_entries(client, auth, "M-ANN") == []
    assert [e["points"] for e in referral_entries(client, auth, "M-ANNA")] == [REFERRAL_POINTS]
    assert referral_entries(client, auth, "M-CY") == []
    joined = enrol(client, auth, "M-EVE", referred_by="M-ANN")
    assert (joined.status_code, joined.json["referred_by"]) == (201, "M-ANNA")
    refused = enrol(client, auth, "M-FAY", referred_by="M-CY")
    assert refused.status_code == 422
    assert "erased" in refused.json["details"]["fields"]["referred_by"][0]


def test_a_till_cannot_send_the_referral_event_itself(client: FlaskClient, auth: Auth,
                                                      clock: list[datetime]) -> None:
    enrol(client, auth, "M-ANN")
    sent = client.post("/api/v1/events", headers=auth("pos"), json={
        "event_id": "E-1", "type": "referral_qualified", "member_id": "M-ANN",
        "occurred_at": NOW.isoformat(), "attributes": {"friend": "M-X"}})
    assert sent.status_code == 422
    assert "type" in sent.json["details"]["fields"]
    assert referral_entries(client, auth, "M-ANN") == []


# --- transfers ---

def transfer(client: FlaskClient, auth: Auth, giver: str, body: dict[str, Any],
             role: str = "pos") -> Any:
    return client.post(f"{MEMBERS}/{giver}/transfers", json=body, headers=auth(role))


def adjust(client: FlaskClient, auth: Auth, member_id: str, points: int, key: str) -> None:
    done = client.post(f"{MEMBERS}/{member_id}/adjustments", headers=auth("adjust"), json={
        "adjustment_id": key, "points": points, "reason": "opening balance"})
    assert done.status_code == 201, done.json


@pytest.fixture
def family(client: FlaskClient, auth: Auth, clock: list[datetime]) -> tuple[str, str]:
    """Two members (ids ordered against the giver, so locking order is exercised); the giver
    has 3,000 available points (and 100 welcome points still pending)."""
    enrol(client, auth, "M-ZOE")
    enrol(client, auth, "M-DAD")
    adjust(client, auth, "M-ZOE", 3000, "ADJ-1")
    return "M-ZOE", "M-DAD"


TEMPLATE = "/api/v1/members/{member_id}/transfers"
POOL = {"transfer_id": "TR-1", "to_member_id": "M-DAD", "points": 1200,
        "reason": "pooling for the ice maker"}


@pytest.mark.parametrize("role", ["pos", "adjust", "admin"])
def test_a_member_gives_points_that_keep_their_expiry(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, family: tuple[str, str],
        contract: Contract, role: str) -> None:
    giver, receiver = family
    body = contract.call("POST", f"{MEMBERS}/{giver}/transfers", TEMPLATE, auth(role), POOL,
                         status=201)
    assert (body["points"], body["balance"], body["to_balance"]) == (
        1200, {"available": 1800, "pending": 100, "debt": 0},
        {"available": 1200, "pending": 100, "debt": 0})
    expiry = (NOW + timedelta(days=730)).date()  # points.expiry_months: 24
    assert [(lot["points"], lot["expires_at"][:7]) for lot in body["lots"]] == [
        (1200, expiry.isoformat()[:7])]
    with ctx.engine.connect() as conn:
        lots = {r.member_id: r for r in conn.execute(
            select(t.point_lots).where(t.point_lots.c.source_type.in_(("adjustment",
                                                                         "transfer"))))}
    assert lots[receiver].expires_at == lots[giver].expires_at
    assert lots[receiver].earned_at == lots[giver].earned_at
    for member, kind, points, other in ((giver, "transfer_out", -1200, receiver),
                                        (receiver, "transfer_in", 1200, giver)):
        ledger = client.get(f"{MEMBERS}/{member}/ledger", headers=auth("pos")).json
        [entry] = [e for e in ledger["entries"] if e["source"]["type"] == "transfer"]
        assert (entry["kind"], entry["points"], entry["other_member_id"]) == (kind, points,
                                                                              other)
        assert other in entry["reason"] and "ice maker" in entry["reason"]
    dad = client.get(f"{MEMBERS}/{receiver}", headers=auth("pos")).json["points"]
    assert dad["lifetime_earned"] == 100  # given points were not earned by the receiver
    assert verify_ledger(ctx) == []


def test_the_same_transfer_replays_and_another_body_conflicts(
        client: FlaskClient, auth: Auth, family: tuple[str, str]) -> None:
    giver, _ = family
    first = transfer(client, auth, giver, POOL)
    again = transfer(client, auth, giver, POOL)
    assert (again.status_code, again.json) == (201, first.json)
    assert again.headers[REPLAY_HEADER] == "true"
    changed = transfer(client, auth, giver, {**POOL, "points": 1300})
    assert (changed.status_code, changed.json["code"]) == (409, "idempotency_conflict")
    points = client.get(f"{MEMBERS}/{giver}", headers=auth("pos")).json["points"]
    assert points["available"] == 1800


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"points": 5000}, 422, "insufficient_points"),
    ({"points": 3050}, 422, "insufficient_points"),  # 3,000 available; the 100 pending stay
    ({"to_member_id": "M-ZOE"}, 422, "validation_error"),
    ({"to_member_id": "M-NOBODY"}, 404, "unknown_member"),
    ({"points": 99}, 422, "transfer_refused"),  # transfers.min_points: 100
    ({"points": 50_001}, 422, "transfer_refused"),  # transfers.max_points: 50,000
    ({"points": 0}, 422, "validation_error"),
    ({"points": 10.5}, 422, "validation_error"),
])
def test_a_refused_transfer_changes_nothing(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, family: tuple[str, str],
        change: dict[str, Any], status: int, code: str) -> None:
    giver, receiver = family
    refused = transfer(client, auth, giver, {**POOL, **change})
    assert (refused.status_code, refused.json["code"]) == (status, code), refused.json
    for member, available in ((giver, 3000), (receiver, 0)):
        points = client.get(f"{MEMBERS}/{member}", headers=auth("pos")).json["points"]
        assert points["available"] == available
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.transfers)).scalar_one() == 0


def test_an_unknown_giver_is_not_found(client: FlaskClient, auth: Auth,
                                       family: tuple[str, str]) -> None:
    missing = transfer(client, auth, "M-NOBODY", POOL)
    assert (missing.status_code, missing.json["code"]) == (404, "unknown_member")


def test_a_member_gives_at_most_max_per_month_transfers(
        client: FlaskClient, auth: Auth, family: tuple[str, str],
        clock: list[datetime]) -> None:
    giver, _ = family
    for number in (1, 2):
        assert transfer(client, auth, giver, {**POOL, "transfer_id": f"TR-{number}",
                                              "points": 100}).status_code == 201
    third = transfer(client, auth, giver, {**POOL, "transfer_id": "TR-3", "points": 100})
    assert (third.status_code, third.json["code"]) == (422, "transfer_refused")
    assert third.json["details"]["limit"] == "max_per_month"
    clock[0] = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # a new month
    assert transfer(client, auth, giver, {**POOL, "transfer_id": "TR-3",
                                          "points": 100}).status_code == 201


@pytest.mark.parametrize("role", ["marketing", "marketing_lead"])
def test_marketing_may_not_transfer_points(client: FlaskClient, auth: Auth,
                                           family: tuple[str, str], role: str) -> None:
    giver, _ = family
    refused = transfer(client, auth, giver, POOL, role)
    assert refused.status_code == 403


def test_every_answer_matches_the_served_document(
        contract: Contract, auth: Auth, family: tuple[str, str]) -> None:
    giver, _ = family
    path = f"{MEMBERS}/{giver}/transfers"
    contract.call("POST", path, TEMPLATE, auth("pos"), POOL, status=201)
    contract.call("POST", path, TEMPLATE, auth("pos"), POOL, status=201)
    contract.call("POST", path, TEMPLATE, auth("pos"), {**POOL, "points": 101}, status=409)
    contract.call("POST", path, TEMPLATE, auth("pos"),
                  {**POOL, "transfer_id": "TR-2", "to_member_id": "M-NOBODY"}, status=404)
    contract.call("POST", path, TEMPLATE, auth("pos"),
                  {**POOL, "transfer_id": "TR-2", "points": 10_000}, status=422)
