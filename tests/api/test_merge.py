"""`POST /members/{member_id}/merge` over the real service and database: a duplicate's points,
lots, history, holdings and contact details move to the survivor and nothing is lost; the
merged id points at the survivor; replays, refusals and roles."""

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
from loyalty.store.merges import MOVED, STAYS, member_tables
from tests.api.test_contract import Contract

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
ANN, DUP = "M-1001", "M-1002"
MERGE = {"merge_id": "MRG-1", "duplicate_id": DUP, "reason": "enrolled twice: card and app"}
FRIDGE = {"sku": "FRIDGE-300", "category": "appliances", "quantity": 1, "unit_price": "3999.00"}
KETTLE = {"sku": "KETTLE-1", "category": "kitchen", "quantity": 2, "unit_price": "150.00"}


class Clock:
    """The service's clock, moved on by a test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(ctx: ServiceContext) -> Clock:
    found = Clock(NOW)
    ctx.clock = found
    return found


@pytest.fixture
def contract(client: FlaskClient) -> Contract:
    return Contract(client, client.get("/api/v1/openapi.json").get_json())


def enrol(client: FlaskClient, auth: Auth, member_id: str, **profile: Any) -> None:
    body = {"member_id": member_id, "enrolled_at": (NOW - timedelta(days=90)).isoformat(),
            **profile}
    answer = client.post("/api/v1/members", json=body, headers=auth("pos"))
    assert answer.status_code == 201, answer.json


def buy(client: FlaskClient, auth: Auth, tx_id: str, member_id: str, days_ago: float,
        *lines: dict[str, Any]) -> Any:
    return client.post("/api/v1/transactions", headers=auth("pos"), json={
        "transaction_id": tx_id, "type": "purchase", "member_id": member_id,
        "occurred_at": (NOW - timedelta(days=days_ago)).isoformat(), "currency": "CNY",
        "lines": list(lines) or [FRIDGE]})


def merge(client: FlaskClient, auth: Auth, body: dict[str, Any] | None = None,
          survivor: str = ANN, role: str = "admin") -> Any:
    return client.post(f"/api/v1/members/{survivor}/merge", json=body or MERGE,
                       headers=auth(role))


def points(client: FlaskClient, auth: Auth, member_id: str,
           as_of: datetime | None = None) -> dict[str, Any]:
    query = "" if as_of is None else "?as_of=" + as_of.isoformat().replace("+", "%2B")
    answer = client.get(f"/api/v1/members/{member_id}{query}", headers=auth("pos"))
    assert answer.status_code == 200, answer.json
    result: dict[str, Any] = answer.json["points"]
    return result


def lots(ctx: ServiceContext, member_id: str) -> list[tuple[Any, ...]]:
    """The member's open lots: (source, state, remaining, earned_at, pending_until, expiry)."""
    c = t.point_lots.c
    with ctx.engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(
            select(c.source_id, c.state, c.remaining, c.earned_at, c.pending_until,
                   c.expires_at).where(c.member_id == member_id, c.remaining > 0)))


def count(ctx: ServiceContext, table: Any, member_id: str) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)
                                .where(table.c.member_id == member_id)).scalar_one())


@pytest.fixture
def pair(client: FlaskClient, auth: Auth, clock: Clock) -> None:
    """Ann, and her duplicate enrolled from the app with another phone and an e-mail; each
    bought: the duplicate's older fridge is spendable, its kettles still pending."""
    enrol(client, auth, ANN, name="Ann", phone="13800000001")
    enrol(client, auth, DUP, phone="13800000002", email="ann@example.com",
          birth_date="1990-05-04")
    assert buy(client, auth, "S-A1", ANN, 30, FRIDGE).status_code == 201
    assert buy(client, auth, "S-D1", DUP, 20, FRIDGE).status_code == 201
    assert buy(client, auth, "S-D2", DUP, 2, KETTLE).status_code == 201


def test_two_duplicates_merge_and_no_point_is_lost(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    ann, dup = points(client, auth, ANN), points(client, auth, DUP)
    dup_lots = lots(ctx, DUP)
    assert dup["pending"] > 0 and dup["available"] > 0

    answer = merge(client, auth)

    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["moved"]["points"] == {"available": dup["available"], "pending": dup["pending"],
                                       "debt": 0, "lifetime": dup["lifetime_earned"]}
    assert body["moved"]["lots"] == len(dup_lots)
    assert body["balance"] == {"available": ann["available"] + dup["available"],
                               "pending": ann["pending"] + dup["pending"], "debt": 0}
    after = points(client, auth, ANN)
    assert after["lifetime_earned"] == ann["lifetime_earned"] + dup["lifetime_earned"]
    assert (after["available"], after["pending"]) == (
        ann["available"] + dup["available"], ann["pending"] + dup["pending"])
    # every lot of the duplicate is now the survivor's, with its dates as they were
    survivor_lots = lots(ctx, ANN)
    assert [lot for lot in survivor_lots if lot[0] != "S-A1" and not lot[0].startswith(
        f"enrolment:{ANN}")] == dup_lots
    assert lots(ctx, DUP) == []
    assert verify_ledger(ctx) == []


def test_the_ledgers_say_where_the_points_went(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    dup = points(client, auth, DUP)
    merge(client, auth)
    out = client.get(f"/api/v1/members/{DUP}/ledger", headers=auth("pos")).json["entries"]
    into = client.get(f"/api/v1/members/{ANN}/ledger", headers=auth("pos")).json["entries"]
    moved_out = [e for e in out if e["kind"] == "merge_out"]
    moved_in = [e for e in into if e["kind"] == "merge_in"]
    for entries, sign in ((moved_out, -1), (moved_in, 1)):
        by_bucket: dict[str, int] = {}
        for entry in entries:
            assert entry["source"] == {"type": "merge", "id": "MRG-1"}
            assert (entry["rule_id"], entry["actor"]) == ("desk.merge", "test-admin")
            by_bucket[entry["bucket"]] = by_bucket.get(entry["bucket"], 0) + entry["points"]
        assert by_bucket == {"available": sign * dup["available"],
                             "pending": sign * dup["pending"],
                             "lifetime": sign * dup["lifetime_earned"]}
    assert "merged into member M-1001" in moved_out[0]["reason"]
    assert "card and app" in moved_in[0]["reason"]


def test_pending_points_keep_their_date_after_the_merge(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock,
        pair: None) -> None:
    kettle_points = points(client, auth, DUP)["pending"]
    [kettle_lot] = [lot for lot in lots(ctx, DUP) if lot[0] == "S-D2"]
    ready = kettle_lot[4]
    merge(client, auth)
    before = points(client, auth, ANN)
    assert before["pending"] >= kettle_points
    clock.at = ready + timedelta(minutes=1)
    after = points(client, auth, ANN, as_of=clock.at)
    assert after["available"] - before["available"] == kettle_points + (
        before["pending"] - after["pending"] - kettle_points)
    assert after["pending"] == before["pending"] - kettle_points - (
        before["pending"] - kettle_points - after["pending"])
    [moved] = [lot for lot in lots(ctx, ANN) if lot[0] == "S-D2"]
    assert moved[3:] == kettle_lot[3:]  # earned, pending until and expiry as they were


def test_a_return_of_the_duplicates_purchase_is_made_against_the_survivor(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    [kettles] = [lot for lot in lots(ctx, DUP) if lot[0] == "S-D2"]
    merge(client, auth)
    refund = {"transaction_id": "R-D2", "type": "return", "original_transaction_id": "S-D2",
              "occurred_at": NOW.isoformat(), "currency": "CNY",
              "lines": [{"sku": "KETTLE-1", "category": "kitchen", "quantity": 1,
                         "unit_price": "150.00"}]}
    before = points(client, auth, ANN)
    refused = client.post("/api/v1/transactions", headers=auth("pos"),
                          json={**refund, "member_id": DUP})
    assert refused.status_code == 409
    assert refused.json["code"] == "member_merged"
    assert refused.json["details"]["merged_into"] == ANN
    answer = client.post("/api/v1/transactions", headers=auth("pos"),
                         json={**refund, "member_id": ANN})
    assert answer.status_code == 201, answer.json
    assert answer.json["points"]["clawed_back"] == kettles[2] // 2  # one kettle of two
    after = points(client, auth, ANN)
    # from the kettles' own lot, still pending
    assert after["pending"] == before["pending"] - kettles[2] // 2
    [lot] = [lot for lot in lots(ctx, ANN) if lot[0] == "S-D2"]
    assert lot[2] == kettles[2] - kettles[2] // 2
    assert after["available"] == before["available"]
    assert verify_ledger(ctx) == []


def test_the_merged_id_points_at_the_survivor(
        client: FlaskClient, auth: Auth, pair: None, contract: Contract) -> None:
    merge(client, auth)
    answer = client.get(f"/api/v1/members/{DUP}?as_of=2026-11-19T00:00:00Z",
                        headers=auth("pos"))
    assert answer.status_code == 301
    assert answer.headers["Location"].endswith(
        f"/api/v1/members/{ANN}?as_of=2026-11-19T00:00:00Z")
    assert answer.json["error"] == "member_merged"
    assert answer.json["merged_into"] == ANN
    assert answer.json["code"] == "member_merged"
    contract.call("GET", f"/api/v1/members/{DUP}", "/api/v1/members/{member_id}",
                  auth("pos"), status=301)
    followed = client.get(f"/api/v1/members/{DUP}", headers=auth("pos"), follow_redirects=True)
    assert followed.status_code == 200
    assert followed.json["member_id"] == ANN


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/transactions", {"transaction_id": "S-X", "type": "purchase", "member_id": DUP,
                              "occurred_at": NOW.isoformat(), "lines": [FRIDGE]}),
    ("/api/v1/events", {"event_id": "E-X", "type": "complaint", "member_id": DUP,
                        "occurred_at": NOW.isoformat(), "attributes": {"outcome": "upheld"}}),
    (f"/api/v1/members/{DUP}/adjustments", {"adjustment_id": "ADJ-X", "points": 10,
                                            "reason": "goodwill"}),
    (f"/api/v1/members/{DUP}/redemptions", {"redemption_id": "RD-X",
                                            "reward_id": "WELCOME-VOUCHER"}),
])
def test_every_write_naming_the_duplicate_is_refused_with_the_survivor(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None, path: str,
        body: dict[str, Any]) -> None:
    merge(client, auth)
    answer = client.post(path, json=body, headers=auth("admin"))
    assert answer.status_code == 409, answer.json
    assert answer.json["code"] == "member_merged"
    assert answer.json["details"] == {"member_id": DUP, "merged_into": ANN}
    assert lots(ctx, DUP) == []


def test_a_till_repeating_a_purchase_recorded_before_the_merge_gets_its_answer(
        client: FlaskClient, auth: Auth, pair: None) -> None:
    first = buy(client, auth, "S-D3", DUP, 1, FRIDGE)
    merge(client, auth)
    again = buy(client, auth, "S-D3", DUP, 1, FRIDGE)
    assert again.status_code == 201
    assert again.headers[REPLAY_HEADER] == "true"
    assert again.json == first.json


def test_contact_details_move_or_stay_findable_and_are_not_enrolled_again(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    answer = merge(client, auth)
    assert answer.json["identifiers"] == {"moved": ["email"], "aliases": ["phone"]}
    assert answer.json["profile_filled"] == ["birth_date"]
    ann = client.get(f"/api/v1/members/{ANN}", headers=auth("pos")).json
    assert (ann["phone"], ann["email"], ann["birth_date"], ann["name"]) == (
        "+8613800000001", "ann@example.com", "1990-05-04", "Ann")
    for query in ({"phone": "138 0000 0002"}, {"email": "ann@example.com"},
                  {"phone": "13800000001"}):
        found = client.get("/api/v1/members", query_string=query, headers=auth("pos"))
        assert (found.status_code, found.json["member_id"]) == (200, ANN), query
    for taken in ({"phone": "138 0000 0002"}, {"email": "Ann@Example.com"}):
        again = client.post("/api/v1/members", json=taken, headers=auth("pos"))
        assert again.status_code == 409, taken
        assert again.json["code"] == "member_exists"
    c = t.member_changes.c
    with ctx.engine.connect() as conn:
        changes = {(r.member_id, r.field, r.old_value, r.new_value, r.source) for r in
                   conn.execute(select(t.member_changes).where(c.source == "merge"))}
    assert changes == {
        (DUP, "phone", "+8613800000002", None, "merge"),
        (DUP, "email", "ann@example.com", None, "merge"),
        (DUP, "merged_into", None, ANN, "merge"),
        (ANN, "email", None, "ann@example.com", "merge"),
        (ANN, "birth_date", None, "1990-05-04", "merge"),
        (ANN, "alias.phone", None, "+8613800000002", "merge"),
    }


def test_history_holdings_and_limits_follow_the_person(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    held = {table: count(ctx, t.metadata.tables[table], DUP) for table in MOVED
            if table in t.metadata.tables}
    survivor = {table: count(ctx, t.metadata.tables[table], ANN) for table in held}
    codes = sorted(v["voucher_code"] for member_id in (ANN, DUP) for v in client.get(
        f"/api/v1/members/{member_id}", headers=auth("pos")).json["rewards"])
    assert len(codes) == 2  # an ice maker with each fridge
    answer = merge(client, auth)
    moved = answer.json["moved"]["rows"]
    for table, rows in held.items():
        assert moved[table] == rows, table
        assert count(ctx, t.metadata.tables[table], DUP) == 0, table
        assert count(ctx, t.metadata.tables[table], ANN) == survivor[table] + rows, table
    assert held["transactions"] == 2 and held["history"] >= 3 and held["member_rewards"] >= 1
    u = t.rule_usage.c
    with ctx.engine.connect() as conn:
        welcome = conn.execute(select(u.times).where(u.member_id == ANN,
                                                     u.rule_id == "welcome-reward")).scalar()
    assert welcome == 2  # the person was welcomed twice: the limit counts both
    assert count(ctx, t.rule_usage, DUP) == 0
    vouchers = client.get(f"/api/v1/members/{ANN}", headers=auth("pos")).json["rewards"]
    assert sorted(v["voucher_code"] for v in vouchers) == codes
    assert verify_ledger(ctx) == []


def test_every_table_about_a_member_is_either_moved_or_kept(app: Any) -> None:
    assert {table.name for table in member_tables()} <= set(MOVED) | set(STAYS)


def test_the_survivor_keeps_the_higher_tier_of_the_two(
        client: FlaskClient, auth: Auth, pair: None) -> None:
    big = {"sku": "OVEN-9", "category": "appliances", "quantity": 1, "unit_price": "21000.00"}
    assert buy(client, auth, "S-D9", DUP, 1, big).json["tier"]["after"] == "gold"
    answer = merge(client, auth)
    assert answer.json["tier"] == {"before": "member", "after": "gold", "changed": True}
    tiers = client.get(f"/api/v1/members/{ANN}/tiers", headers=auth("pos")).json
    assert tiers["tier"] == "gold"
    assert tiers["changes"][0]["reason"] == "merged with member M-1002, who held gold"
    assert tiers["changes"][0]["rule_id"] == "desk.merge"
    sent = client.get(f"/api/v1/members/{ANN}/notifications", headers=auth("admin")).json
    told = [n for n in sent["notifications"] if n["source_id"] == MERGE["merge_id"]]
    assert [(n["notification"], n["channel"], n["payload"]["to"]) for n in told] == [
        ("tier_changed", "system", "gold")]


def test_a_debt_moves_with_the_duplicate(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock) -> None:
    enrol(client, auth, ANN)
    enrol(client, auth, DUP)
    assert buy(client, auth, "S-D1", DUP, 40, FRIDGE).status_code == 201
    spent = points(client, auth, DUP)["available"]
    took = client.post(f"/api/v1/members/{DUP}/adjustments", headers=auth("adjust"), json={
        "adjustment_id": "ADJ-1", "points": -spent, "reason": "points given in error"})
    assert took.status_code == 201, took.json
    back = client.post("/api/v1/transactions", headers=auth("pos"), json={
        "transaction_id": "R-D1", "type": "return", "member_id": DUP,
        "original_transaction_id": "S-D1", "occurred_at": NOW.isoformat(), "lines": [FRIDGE]})
    assert back.status_code == 201, back.json
    debt = points(client, auth, DUP)["debt"]
    assert debt > 0
    answer = merge(client, auth)
    assert answer.json["moved"]["points"]["debt"] == debt
    assert points(client, auth, ANN)["debt"] == debt
    assert verify_ledger(ctx) == []


def test_the_same_merge_replays_and_another_body_conflicts(
        client: FlaskClient, auth: Auth, pair: None) -> None:
    first = merge(client, auth)
    again = merge(client, auth)
    assert again.status_code == 201
    assert again.headers[REPLAY_HEADER] == "true"
    assert again.json == first.json
    other = merge(client, auth, {**MERGE, "reason": "something else"})
    assert other.status_code == 409
    assert other.json["code"] == "idempotency_conflict"


def test_a_merged_duplicate_a_merged_survivor_and_oneself_are_refused_clearly(
        client: FlaskClient, auth: Auth, pair: None) -> None:
    enrol(client, auth, "M-1003")
    assert merge(client, auth).status_code == 201
    again = merge(client, auth, {**MERGE, "merge_id": "MRG-2"}, survivor="M-1003")
    assert (again.status_code, again.json["code"]) == (409, "member_merged")
    assert again.json["details"] == {"member_id": DUP, "merged_into": ANN}
    into_merged = merge(client, auth, {**MERGE, "merge_id": "MRG-3",
                                       "duplicate_id": "M-1003"}, survivor=DUP)
    assert (into_merged.status_code, into_merged.json["code"]) == (409, "member_merged")
    assert "merge into that member instead" in into_merged.json["message"]
    itself = merge(client, auth, {**MERGE, "merge_id": "MRG-4", "duplicate_id": ANN})
    assert (itself.status_code, itself.json["code"]) == (422, "validation_error")
    assert "duplicate_id" in itself.json["details"]["fields"]
    unknown = merge(client, auth, {**MERGE, "merge_id": "MRG-5", "duplicate_id": "M-9"})
    assert (unknown.status_code, unknown.json["code"]) == (404, "unknown_member")
    blank = merge(client, auth, {**MERGE, "merge_id": "MRG-6", "reason": " "})
    assert (blank.status_code, blank.json["code"]) == (422, "validation_error")


def test_a_member_merged_earlier_points_at_the_final_survivor(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    enrol(client, auth, "M-1003", phone="13800000003")
    assert merge(client, auth, {**MERGE, "merge_id": "MRG-0", "duplicate_id": "M-1003"},
                 survivor=DUP).status_code == 201
    assert merge(client, auth).status_code == 201
    answer = client.get("/api/v1/members/M-1003", headers=auth("pos"))
    assert answer.status_code == 301
    assert answer.json["merged_into"] == ANN
    again = client.post("/api/v1/members", json={"phone": "13800000003"}, headers=auth("pos"))
    assert again.status_code == 409
    assert verify_ledger(ctx) == []


@pytest.mark.parametrize("role", ["pos", "marketing", "adjust"])
def test_only_an_admin_merges(client: FlaskClient, auth: Auth, pair: None,
                              role: str) -> None:
    answer = merge(client, auth, role=role)
    assert (answer.status_code, answer.json["code"]) == (403, "forbidden")
    assert client.get(f"/api/v1/members/{DUP}", headers=auth("pos")).status_code == 200


def test_the_merge_is_audited_with_who_and_why(
        client: FlaskClient, auth: Auth, pair: None, contract: Contract) -> None:
    contract.call("POST", f"/api/v1/members/{ANN}/merge", "/api/v1/members/{member_id}/merge",
                  auth("admin"), MERGE, status=201)
    log = client.get("/api/v1/audit?action=member.merged", headers=auth("admin")).json
    [entry] = log["entries"]
    assert (entry["actor"], entry["subject"], entry["reason"]) == (
        "test-admin", ANN, "enrolled twice: card and app")
    assert entry["details"]["duplicate_id"] == DUP
    contract.call("POST", f"/api/v1/members/{ANN}/merge", "/api/v1/members/{member_id}/merge",
                  auth("admin"), {**MERGE, "reason": "other"}, status=409)



def test_transfers_the_duplicate_made_stay_as_recorded_and_the_ledger_balances(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    enrol(client, auth, "M-1003")
    gave = client.post(f"/api/v1/members/{DUP}/transfers", headers=auth("pos"), json={
        "transfer_id": "TR-1", "to_member_id": "M-1003", "points": 200})
    assert gave.status_code == 201, gave.json
    got = client.post("/api/v1/members/M-1003/transfers", headers=auth("pos"), json={
        "transfer_id": "TR-2", "to_member_id": DUP, "points": 100})
    assert got.status_code == 201, got.json
    dup = points(client, auth, DUP)
    ann = points(client, auth, ANN)
    assert merge(client, auth).status_code == 201
    assert points(client, auth, ANN)["available"] == ann["available"] + dup["available"]
    h = t.history.c
    with ctx.engine.connect() as conn:
        kept = conn.execute(select(h.source_id).where(h.member_id == DUP)).scalars().all()
    assert sorted(kept) == ["TR-1", "TR-2"]  # a transfer's history names its two members
    refused = client.post("/api/v1/members/M-1003/transfers", headers=auth("pos"), json={
        "transfer_id": "TR-3", "to_member_id": DUP, "points": 100})
    assert (refused.status_code, refused.json["code"]) == (409, "member_merged")
    assert verify_ledger(ctx) == []


@pytest.mark.parametrize("erased", [ANN, DUP])
def test_an_erased_member_is_not_merged(client: FlaskClient, auth: Auth, ctx: ServiceContext,
                                        pair: None, erased: str) -> None:
    gone = client.delete(f"/api/v1/members/{erased}/personal-data",
                         json={"reason": "asked to be forgotten"}, headers=auth("admin"))
    assert gone.status_code == 200, gone.json
    answer = merge(client, auth)
    assert (answer.status_code, answer.json["code"]) == (409, "member_erased")
    assert answer.json["details"] == {"member_id": erased}
    assert client.get(f"/api/v1/members/{DUP}", headers=auth("pos")).status_code == 200


def test_verify_finds_a_merge_that_lost_points(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, pair: None) -> None:
    merge(client, auth)
    e = t.ledger_entries.c
    with ctx.engine.begin() as conn:
        entry = conn.execute(select(e.entry_id, e.lot_id).where(
            e.kind == "merge_in", e.bucket == "lifetime")).one()
        conn.execute(t.ledger_entries.delete().where(e.entry_id == entry.entry_id))
        conn.execute(t.members.update().where(t.members.c.member_id == DUP)
                     .values(merged_into="M-9999"))
    problems = verify_ledger(ctx)
    assert any(p.startswith("merge MRG-1: its lifetime entries add up to -") for p in problems)
    assert any(p.startswith(f"member {DUP}: merged into M-9999") for p in problems)
