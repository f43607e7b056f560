"""The ledger through the use cases, on a real database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from loyalty.domain.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    MemberExists,
    OutOfStock,
    ReturnExceedsPurchase,
    UnknownMember,
    UnknownTransaction,
)
from loyalty.engine import read_rule_dir
from loyalty.services.context import ServiceContext
from loyalty.services.rules import activate
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, give_back, points, purchase, redeem

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
FILTERS = ("FILTER-1", "accessories", 2, "49.50")
LATER = T0 + timedelta(days=60)
WELCOME = 100  # points the bundled rules give on enrolment
LAST_ONE = """
  - id: LAST-ONE
    name: A gift with one left
    kind: product
    points_cost: 1000
    stock: 1
    description: Only one was ever in stock
"""


@pytest.fixture
def member(ctx: ServiceContext) -> str:
    ctx.clock = lambda: T0
    return str(enrol(ctx)["member_id"])


def test_purchase_earns_pending_points_recorded_with_rule_and_version(
    ctx: ServiceContext, member: str
) -> None:
    body = purchase(ctx, "S-1", [FRIDGE, FILTERS]).body
    assert body["points"]["earned"] == 4098
    assert body["balance"]["pending"] == 4098
    assert {d["ruleset_version"] for d in body["decisions"]} == {"1"}
    assert points(ctx)["pending"] == 4098
    assert points(ctx, as_of=LATER)["available"] == WELCOME + 4098
    assert verify_ledger(ctx) == []


def test_same_id_same_body_replays_and_other_body_conflicts(
    ctx: ServiceContext, member: str
) -> None:
    first = purchase(ctx, "S-1", [FRIDGE])
    again = purchase(ctx, "S-1", [FRIDGE])
    assert again.replayed and again.body == first.body and again.status == first.status
    with pytest.raises(IdempotencyConflict):
        purchase(ctx, "S-1", [FILTERS])
    assert points(ctx)["pending"] == 3999


def test_dry_run_answers_the_same_and_records_nothing(ctx: ServiceContext, member: str) -> None:
    dry = purchase(ctx, "S-1", [FRIDGE], dry_run=True)
    assert dry.body["points"]["earned"] == 3999
    assert points(ctx)["pending"] == 0
    real = purchase(ctx, "S-1", [FRIDGE])
    assert real.status == 201 and real.body["points"] == dry.body["points"]


def test_partial_then_full_return_never_claws_back_more_than_earned(
    ctx: ServiceContext, member: str
) -> None:
    purchase(ctx, "S-1", [FRIDGE, FILTERS])
    first = give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)]).body
    assert first["points"]["clawed_back"] == 49  # 49.5 points' worth: fractions stay with Ann
    second = give_back(ctx, "R-2", "S-1", [("FILTER-1", 1)]).body
    assert second["points"]["clawed_back"] == 50  # 99 in all for both filters
    third = give_back(ctx, "R-3", "S-1", [("FRIDGE-300", 1)]).body
    assert third["points"]["clawed_back"] == 4098 - 99
    assert points(ctx)["pending"] == 0
    with pytest.raises(ReturnExceedsPurchase):
        give_back(ctx, "R-4", "S-1", [("FILTER-1", 1)])
    assert verify_ledger(ctx) == []


def test_return_of_more_than_bought_changes_nothing(ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FILTERS])
    with pytest.raises(ReturnExceedsPurchase):
        give_back(ctx, "R-1", "S-1", [("FILTER-1", 3)])
    with pytest.raises(ReturnExceedsPurchase):
        give_back(ctx, "R-1", "S-1", [("NEVER-BOUGHT", 1)])
    assert points(ctx)["pending"] == 99
    with ctx.uow(read_only=True) as uow:
        assert uow.transactions.get("R-1") is None


def test_return_against_another_members_purchase_is_refused(
    ctx: ServiceContext, member: str
) -> None:
    enrol(ctx, "M-2002", email="bob@example.com")
    purchase(ctx, "S-1", [FRIDGE], member_id="M-2002")
    with pytest.raises(UnknownTransaction):
        give_back(ctx, "R-1", "S-1", [("FRIDGE-300", 1)])


def test_redemption_with_too_few_points_changes_nothing(ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FILTERS])
    ctx.clock = lambda: LATER
    reward = cheapest(ctx)
    with pytest.raises(InsufficientPoints):
        redeem(ctx, "RD-1", reward.reward_id, quantity=10_000)
    assert points(ctx)["available"] == WELCOME + 99
    with ctx.uow(read_only=True) as uow:
        assert uow.idempotency.get("redemption", "RD-1") is None
    assert verify_ledger(ctx) == []


def test_redemption_of_a_sold_out_reward_changes_nothing(ctx: ServiceContext, member: str) -> None:
    files = read_rule_dir(RULES_DIR)
    activate(ctx, {**files, "rewards.yaml": files["rewards.yaml"].rstrip() + "\n" + LAST_ONE},
             "test", reason="test")
    purchase(ctx, "S-1", [FRIDGE])
    ctx.clock = lambda: LATER
    assert redeem(ctx, "RD-1", "LAST-ONE").status == 201
    assert points(ctx)["available"] == WELCOME + 3999 - 1000
    with pytest.raises(OutOfStock):
        redeem(ctx, "RD-2", "LAST-ONE")
    assert points(ctx)["available"] == WELCOME + 3999 - 1000
    with ctx.uow(read_only=True) as uow:
        assert uow.idempotency.get("redemption", "RD-2") is None
        given = uow.connection.execute(select(t.member_rewards.c.source_id).where(
            t.member_rewards.c.reward_id == "LAST-ONE")).scalars().all()
    assert given == ["RD-1"]
    assert verify_ledger(ctx) == []


def test_points_spent_then_returned_become_debt_repaid_by_later_earnings(
    ctx: ServiceContext, member: str
) -> None:
    purchase(ctx, "S-1", [FRIDGE])
    ctx.clock = lambda: LATER
    reward = cheapest(ctx)
    quantity = 3900 // (reward.points_cost or 1)
    redeem(ctx, "RD-1", reward.reward_id, quantity=quantity)
    left = WELCOME + 3999 - quantity * (reward.points_cost or 0)
    give_back(ctx, "R-1", "S-1", [("FRIDGE-300", 1)], at=LATER)
    assert points(ctx, as_of=LATER)["debt"] == 3999 - left
    purchase(ctx, "S-2", [FRIDGE], at=LATER)
    assert points(ctx, as_of=LATER)["debt"] == 0
    assert verify_ledger(ctx) == []


def test_unknown_member_and_duplicate_enrolment_are_refused(
    ctx: ServiceContext, member: str
) -> None:
    with pytest.raises(UnknownMember):
        purchase(ctx, "S-1", [FRIDGE], member_id="NOBODY")
    with pytest.raises(MemberExists):
        enrol(ctx, "M-9999", email=" M-1001@Example.COM ")
    with pytest.raises(MemberExists):
        enrol(ctx, "M-1001")


def test_verify_reports_a_balance_that_drifted_from_its_entries(
    ctx: ServiceContext, member: str
) -> None:
    purchase(ctx, "S-1", [FRIDGE])
    with ctx.uow() as uow:
        uow.connection.execute(update(t.members).values(points_pending=1))
        uow.commit()
    assert verify_ledger(ctx) == [
        "member M-1001: balances available/pending/debt/lifetime 100/1/0/4099 but entries sum "
        "to 100/3999/0/4099",
        "member M-1001: balances available/pending 100/1 but open lots hold 100/3999",
    ]


def test_every_ledger_entry_names_its_cause(ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FRIDGE, FILTERS])
    give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)])
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(t.ledger_entries)).all()
    assert rows
    for row in rows:
        assert row.source_id and row.reason and row.ruleset_version


def cheapest(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    rewards = [r for r in ctx.rules.current().policy.rewards
               if r.points_cost and r.stock is None]
    return min(rewards, key=lambda r: r.points_cost or 0)


def test_statistics_sum_money_exactly_over_their_windows(ctx: ServiceContext, member: str) -> None:
    purchase(ctx, "S-1", [FILTERS], at=T0 - timedelta(days=100))
    purchase(ctx, "S-2", [FRIDGE], at=T0 - timedelta(days=20))
    give_back(ctx, "R-1", "S-1", [("FILTER-1", 1)], at=T0 - timedelta(days=10))
    with ctx.uow(read_only=True) as uow:
        stats = uow.transactions.stats(uow.members.get("M-1001"), T0)
    assert (stats.spend_30d, stats.spend_90d, stats.spend_365d) == (
        Decimal("3949.50"), Decimal("3949.50"), Decimal("4048.50"))
    assert (stats.visits_30d, stats.visits_365d) == (1, 2)


def test_an_upgrade_at_the_till_is_recorded_with_its_next_review(
    ctx: ServiceContext, member: str
) -> None:
    body = purchase(ctx, "S-1", [("GIFT-CARD", "gift-cards", 1, "6000.00")]).body
    assert body["tier"] == {"before": "member", "after": "silver", "changed": True}
    with ctx.uow(read_only=True) as uow:
        row = uow.members.get("M-1001")
        history = uow.connection.execute(select(t.tier_history)).all()
    assert row.tier == "silver" and row.tier_review_at == T0.replace(year=T0.year + 1)
    assert [(h.from_tier, h.to_tier) for h in history] == [("member", "silver")]
    assert "spend_365d" in history[0].reason


def test_tier_history_is_readable_through_the_api(client: Any, auth: Any, ctx: ServiceContext,
                                                  member: str) -> None:
    purchase(ctx, "S-1", [("GIFT-CARD", "gift-cards", 1, "25000.00")])
    body = client.get("/api/v1/members/M-1001/tiers", headers=auth("marketing")).get_json()
    assert body["tier"] == "gold" and body["review_at"]
    assert [(c["from_tier"], c["to_tier"]) for c in body["changes"]] == [("member", "gold")]


@pytest.mark.postgres_only
def test_a_member_s_lock_holds_up_that_member_only(ctx: ServiceContext, member: str) -> None:
    """Row locks: while one write holds Ann, Bob's purchase goes through and Ann's waits."""
    enrol(ctx, "M-2002", email="bob@example.com")
    finished: list[str] = []
    errors: list[BaseException] = []

    def buy(tx_id: str, member_id: str) -> None:
        try:
            purchase(ctx, tx_id, [FILTERS], member_id=member_id)
            finished.append(tx_id)
        except BaseException as error:  # reported below
            errors.append(error)

    ann = threading.Thread(target=buy, args=("S-ANN", "M-1001"))
    bob = threading.Thread(target=buy, args=("S-BOB", "M-2002"))
    with ctx.uow() as uow:
        assert uow.members.get("M-1001", lock=True) is not None
        ann.start()
        bob.start()
        bob.join(30)
        time.sleep(0.5)  # time for Ann's purchase to finish, were it not held up
        assert (finished, errors) == (["S-BOB"], [])
        uow.commit()
    ann.join(30)
    assert (finished, errors) == (["S-BOB", "S-ANN"], [])
    assert (points(ctx)["pending"], points(ctx, "M-2002")["pending"]) == (99, 99)
    assert verify_ledger(ctx) == []
