"""Points a service desk adds or removes by hand, through the use case on a real database:
the ledger names who and why, a removal never goes below what the member has, every
adjustment and refusal is in the audit log, and replaying the history reproduces them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from loyalty.domain.commands import Adjust
from loyalty.domain.errors import IdempotencyConflict, InsufficientPoints, ValidationFailed
from loyalty.engine import read_rule_dir
from loyalty.services import audit
from loyalty.services.adjustments import adjust
from loyalty.services.audit import Actor
from loyalty.services.backtest import backtest
from loyalty.services.backtest_report import render_table
from loyalty.services.context import Recorded, ServiceContext
from loyalty.services.decide import ADJUSTMENT_RULE
from loyalty.services.explain import explain_recorded
from loyalty.services.members import ledger_page
from loyalty.services.replay import MemoryState, replay
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.history import HistoryFilter, HistoryReader
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, fingerprint, give_back, points, purchase, redeem

DESK = Actor("desk-ann", "key")
FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
LATER = T0 + timedelta(days=60)
WELCOME = 100  # points the bundled rules give on enrolment, to spend at once


def adjustment(ctx: ServiceContext, adjustment_id: str, points_: int,
               reason: str = "the delivery was three days late", *,
               member_id: str = "M-1001", actor: Actor = DESK,
               at: datetime | None = None) -> Recorded:
    cmd = Adjust(adjustment_id=adjustment_id, member_id=member_id, points=points_,
                 reason=reason, occurred_at=at,
                 fingerprint=fingerprint(a=adjustment_id, p=points_, r=reason, at=at))
    return adjust(ctx, cmd, actor)


def rows(ctx: ServiceContext, table: Any, *where: Any) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(table).where(*where)).all())


def entries_of(ctx: ServiceContext, source_id: str, *, settling: bool = False) -> list[Any]:
    """The entries an adjustment made; with `settling`, those of the settling before it
    (points whose return window ended, made available)."""
    e = t.ledger_entries.c
    made = e.kind == "activate" if settling else e.kind != "activate"
    return rows(ctx, t.ledger_entries, e.source_id == source_id, e.source_type == "adjustment",
                made)


def audited(ctx: ServiceContext, action: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = audit.read_log(ctx, actions=[action])["entries"]
    return entries


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: T0
    return str(enrol(ctx)["member_id"])


def test_added_points_are_available_at_once_and_name_the_desk(
        ctx: ServiceContext, member: str) -> None:
    recorded = adjustment(ctx, "ADJ-1", 500)
    assert recorded.status == 201 and not recorded.replayed
    assert recorded.body == {
        "adjustment_id": "ADJ-1", "member_id": member, "points": 500,
        "reason": "the delivery was three days late", "actor": "desk-ann",
        "adjusted_at": T0.isoformat(),
        "balance": {"available": WELCOME + 500, "pending": 0, "debt": 0}}
    assert points(ctx)["available"] == WELCOME + 500
    [entry] = entries_of(ctx, "ADJ-1")
    assert (entry.kind, entry.bucket, entry.points, entry.rule_id, entry.actor, entry.reason) == (
        "earn", "available", 500, ADJUSTMENT_RULE, "desk-ann",
        "adjusted by desk-ann: the delivery was three days late")
    settled = entries_of(ctx, "ADJ-1", settling=True)  # the welcome points' window ended
    assert sorted((e.bucket, e.points, e.actor) for e in settled) == [
        ("available", WELCOME, None), ("pending", -WELCOME, None)]
    [row] = rows(ctx, t.adjustments)
    assert (row.adjustment_id, row.member_id, row.points, row.reason, row.actor) == (
        "ADJ-1", member, 500, "the delivery was three days late", "desk-ann")
    assert verify_ledger(ctx) == []


def test_added_points_expire_as_earned_points_do(ctx: ServiceContext, member: str) -> None:
    adjustment(ctx, "ADJ-1", 500)
    [lot] = rows(ctx, t.point_lots, t.point_lots.c.source_id == "ADJ-1")
    assert (lot.state, lot.earned, lot.expires_at) == ("available", 500, T0 + timedelta(
        days=731))  # points.expiry: 24 months after earning
    assert points(ctx, as_of=T0 + timedelta(days=732))["available"] == 0


def test_removed_points_come_off_the_soonest_expiring_lots_as_adjust_entries(
        ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FRIDGE])
    ctx.clock = lambda: LATER
    body = adjustment(ctx, "ADJ-1", -300, "points given twice for one order").body
    assert body["points"] == -300 and body["adjusted_at"] == LATER.isoformat()
    assert body["balance"]["available"] == WELCOME + 3999 - 300
    taken = [(e.kind, e.bucket, e.points, e.actor) for e in entries_of(ctx, "ADJ-1")
             if e.rule_id == ADJUSTMENT_RULE]
    assert taken == [("adjust", "available", -WELCOME, "desk-ann"),  # the welcome lot first
                     ("adjust", "available", -200, "desk-ann")]
    assert points(ctx)["lifetime_earned"] == WELCOME + 3999  # a removal is not un-earning
    assert verify_ledger(ctx) == []


def test_removing_more_than_the_member_has_changes_nothing_and_is_audited(
        ctx: ServiceContext, member: str) -> None:
    with pytest.raises(InsufficientPoints) as refused:
        adjustment(ctx, "ADJ-1", -(WELCOME + 1), "points given twice")
    assert refused.value.details == {"required": WELCOME + 1, "available": WELCOME}
    assert points(ctx)["available"] == WELCOME
    assert entries_of(ctx, "ADJ-1") == [] and rows(ctx, t.adjustments) == []
    assert rows(ctx, t.history, t.history.c.source_type == "adjustment") == []
    with ctx.uow(read_only=True) as uow:
        assert uow.idempotency.get("adjustment", "ADJ-1") is None
    assert audited(ctx, "points.adjusted") == []
    [record] = audited(ctx, "points.adjustment_refused")
    assert (record["actor"], record["actor_kind"], record["subject"], record["reason"]) == (
        "desk-ann", "key", member, "points given twice")
    assert record["details"] == {"adjustment_id": "ADJ-1", "points": -(WELCOME + 1),
                                 "code": "insufficient_points", "required": WELCOME + 1,
                                 "available": WELCOME}
    assert adjustment(ctx, "ADJ-1", -WELCOME, "points given twice").status == 201
    assert points(ctx)["available"] == 0
    assert verify_ledger(ctx) == []


def test_removals_at_the_same_moment_never_take_more_than_the_member_has(
        ctx: ServiceContext, member: str) -> None:
    adjustment(ctx, "ADJ-0", 500)  # with the welcome points, 600 to spend
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def remove(number: int) -> None:
        barrier.wait()
        try:
            adjustment(ctx, f"ADJ-{number}", -50, "points given twice")
            outcomes.append("removed")
        except InsufficientPoints:
            outcomes.append("refused")

    threads = [threading.Thread(target=remove, args=(n,)) for n in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused"] * 8 + ["removed"] * 12
    assert points(ctx)["available"] == 0
    assert len(audited(ctx, "points.adjusted")) == 13
    assert len(audited(ctx, "points.adjustment_refused")) == 8
    assert verify_ledger(ctx) == []


def test_points_pending_cannot_be_removed(ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FRIDGE])  # 3999 points pending for the return window
    with pytest.raises(InsufficientPoints):
        adjustment(ctx, "ADJ-1", -(WELCOME + 1))
    assert points(ctx)["pending"] == 3999


def test_added_points_repay_a_debt_first(ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FRIDGE], at=T0 - timedelta(days=60))
    redeem(ctx, "RD-1", "FREE-CHECKUP", quantity=2)  # 4000 of the 4099 available
    give_back(ctx, "R-1", "S-1", [("FRIDGE-300", 1)])
    assert points(ctx)["debt"] == 3999 - 99
    body = adjustment(ctx, "ADJ-1", 5000, "goodwill for the faulty refrigerator").body
    assert body["balance"] == {"available": 5000 - 3900, "pending": 0, "debt": 0}
    assert sorted((e.kind, e.bucket, e.points) for e in entries_of(ctx, "ADJ-1")) == [
        ("debt_repayment", "available", -3900), ("debt_repayment", "debt", -3900),
        ("earn", "available", 5000)]
    assert {e.actor for e in entries_of(ctx, "ADJ-1")} == {"desk-ann"}
    assert verify_ledger(ctx) == []


def test_the_same_adjustment_again_replays_and_another_body_conflicts(
        ctx: ServiceContext, member: str) -> None:
    first = adjustment(ctx, "ADJ-1", 500)
    again = adjustment(ctx, "ADJ-1", 500)
    assert again.replayed and (again.status, again.body) == (first.status, first.body)
    with pytest.raises(IdempotencyConflict):
        adjustment(ctx, "ADJ-1", 600)
    with pytest.raises(IdempotencyConflict):
        adjustment(ctx, "ADJ-1", 500, "another reason")
    assert points(ctx)["available"] == WELCOME + 500
    assert len(entries_of(ctx, "ADJ-1")) == 1
    [record] = audited(ctx, "points.adjusted")
    assert (record["actor"], record["subject"], record["reason"]) == (
        "desk-ann", member, "the delivery was three days late")
    assert record["details"] == {"adjustment_id": "ADJ-1", "points": 500,
                                 "occurred_at": T0.isoformat()}


@pytest.mark.parametrize(("points_", "reason", "field"), [
    (500, "   ", "reason"), (500, "", "reason"), (0, "late delivery", "points")])
def test_a_blank_reason_or_no_points_is_refused_before_anything_happens(
        ctx: ServiceContext, member: str, points_: int, reason: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        adjustment(ctx, "ADJ-1", points_, reason)
    assert list(refused.value.details["fields"]) == [field]
    assert rows(ctx, t.adjustments) == [] and audited(ctx, "points.adjustment_refused") == []


def test_the_ledger_page_shows_the_actor_of_an_adjustment_only(
        ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FRIDGE])
    adjustment(ctx, "ADJ-1", 250)
    entries = ledger_page(ctx, member, limit=50, cursor=None)["entries"]
    assert [(e["source"], e["actor"], e["reason"]) for e in entries
            if e["source"]["type"] == "adjustment"] == [
        ({"type": "adjustment", "id": "ADJ-1"}, "desk-ann",
         "adjusted by desk-ann: the delivery was three days late")]
    assert {e["actor"] for e in entries if e["source"]["type"] != "adjustment"} == {None}


def test_replaying_the_history_after_adjustments_gives_the_stored_balance(
        ctx: ServiceContext, member: str) -> None:
    adjustment(ctx, "ADJ-1", 2000, "goodwill")
    assert redeem(ctx, "RD-1", "FREE-CHECKUP").status == 201  # needs the adjusted points
    adjustment(ctx, "ADJ-2", -50, "a welcome bonus given by mistake")
    stored = points(ctx)
    assert stored["available"] == WELCOME + 2000 - 2000 - 50

    state = MemoryState()
    book = ctx.rules.current()
    steps = list(replay(HistoryReader(ctx.engine, HistoryFilter(member_id=member)),
                        lambda _: book, state))
    assert [(s.item.kind, s.refused) for s in steps] == [
        ("enrolment", None), ("adjustment", None), ("redemption", None), ("adjustment", None)]
    account = state.members[member].account
    assert (account.available, account.pending, account.debt, account.lifetime) == (
        stored["available"], stored["pending"], stored["debt"], stored["lifetime_earned"])

    explained, item = explain_recorded(ctx, "ADJ-2")
    assert (item.points, item.reason, item.actor) == (-50, "a welcome bonus given by mistake",
                                                     "desk-ann")
    assert explained["decisions"] == [{
        "rule_id": ADJUSTMENT_RULE, "ruleset": "desk", "ruleset_version": book.version,
        "effect": "adjust_points", "points": -50,
        "reason": "adjusted by desk-ann: a welcome bonus given by mistake"}]
    assert explained["lines"] == [
        f"{ADJUSTMENT_RULE}: adjusted by desk-ann: a welcome bonus given by mistake (-50 points)"]


def test_a_backtest_replays_adjustments_alike_on_both_sides(
        ctx: ServiceContext, member: str) -> None:
    adjustment(ctx, "ADJ-1", 2000, "goodwill")
    redeem(ctx, "RD-1", "FREE-CHECKUP")
    adjustment(ctx, "ADJ-2", -50, "a welcome bonus given by mistake")
    report = backtest(ctx, read_rule_dir(RULES_DIR), start=T0 - timedelta(days=1),
                      end=T0 + timedelta(days=1))
    assert report["replay_check"] == {"compared": 3, "differences": 0, "examples": []}
    assert report["occurrences"]["adjustments"] == 2
    assert report["differing_decisions"] == 0 and report["points_difference"] == 0
    issued = report["totals"]["against"]["points_issued"]
    assert issued == report["totals"]["draft"]["points_issued"] == 2000
    [row] = [r for r in report["per_rule"] if r["rule_id"] == ADJUSTMENT_RULE]
    assert (row["draft_points"], row["against_points"]) == (2000, 2000)
    assert "0 events, 1 redemptions, 2 adjustments; 1 members" in render_table(report)


def test_verify_finds_an_adjustment_that_drifted_from_its_entries(
        ctx: ServiceContext, member: str) -> None:
    adjustment(ctx, "ADJ-1", 500)
    adjustment(ctx, "ADJ-2", -100)
    assert verify_ledger(ctx) == []
    with ctx.uow() as uow:
        conn = uow.connection
        conn.execute(update(t.adjustments).where(t.adjustments.c.adjustment_id == "ADJ-2")
                     .values(points=-90))
        conn.execute(delete(t.idempotency_keys).where(t.idempotency_keys.c.key == "ADJ-1"))
        conn.execute(delete(t.history).where(t.history.c.source_id == "ADJ-1"))
        uow.commit()
    assert verify_ledger(ctx) == [
        "adjustment ADJ-2 of member M-1001: -90 points but its entries move -100",
        "adjustment ADJ-1 has no idempotency record",
        "adjustment ADJ-1 is in the history 0 times, not once",
    ]
    with ctx.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.adjustments)).scalar_one() == 2
