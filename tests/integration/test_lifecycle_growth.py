"""Growing and mature: the daily sweep moves members between them and the rules react to each
move; a member coming back at the till is growing, and replaying the history agrees."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from loyalty.engine import read_rule_dir
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.rules import activate
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, purchase
from tests.integration.test_lifecycle import (
    join,
    moves,
    stage,
    sweep,
    with_welcome_back_gift,
)

MUG = ("MUG", "homeware", 1, "100.00")
SOFA = ("SOFA", "furniture", 1, "1000.00")
GROWTH = """ruleset: growth
description: Noticing members who buy more than their usual, and those who settle back
on: [lifecycle_changed]
rules:
  - id: thanks-for-growing
    description: 200 points when a member buys more than their usual
    when:
      - {fact: event.attributes.stage, is: growing}
      - {fact: event.attributes.previous, is: mature}
    then:
      - award_points: {points: 200}
  - id: settled-back
    description: A note for the shop when a growing member settles back to their usual
    when:
      - {fact: event.attributes.stage, is: mature}
      - {fact: event.attributes.previous, is: growing}
    then:
      - notify: {notification: settled-back, message: "Back to their usual pace."}
"""








def awarded(ctx: ServiceContext, member_id: str, rule_id: str) -> int:
    with ctx.uow(read_only=True) as uow:
        points = uow.connection.execute(select(t.ledger_entries.c.points).where(
            t.ledger_entries.c.member_id == member_id,
            t.ledger_entries.c.rule_id == rule_id)).scalars().all()
    return sum(points)


def notified(ctx: ServiceContext, member_id: str) -> list[str]:
    with ctx.uow(read_only=True) as uow:
        return list(uow.connection.execute(select(t.notifications.c.notification).where(
            t.notifications.c.member_id == member_id)).scalars().all())




def with_growth_rules(ctx: ServiceContext) -> None:
    files = {**read_rule_dir(RULES_DIR), "growth.yaml": GROWTH}
    activate(ctx, files, activated_by="test", reason="thank members who buy more")
    ctx.rules.invalidate()


def monthly_mugs(ctx: ServiceContext, member_id: str, first: datetime, last: datetime) -> None:
    at = first
    while at <= last:
        ctx.clock = lambda at=at: at  # type: ignore[misc]
        purchase(ctx, f"{member_id}-MUG-{at:%Y%m%d}", [MUG], member_id=member_id, at=at)
        at += timedelta(days=30)


def test_a_member_buying_more_than_usual_grows_then_settles_back_and_the_rules_react(
    ctx: ServiceContext,
) -> None:
    with_growth_rules(ctx)
    ctx.clock = lambda: T0
    join(ctx, "M-ANN", T0 - timedelta(days=800))
    monthly_mugs(ctx, "M-ANN", T0 - timedelta(days=425), T0 - timedelta(days=5))
    sweep(ctx, T0)
    assert stage(ctx, "M-ANN") == "mature"  # 300 in 90 days; her usual: 296 per 90 days
    assert moves(ctx, "M-ANN") == [("mature", "new")]
    assert awarded(ctx, "M-ANN", "thanks-for-growing") == 0

    ctx.clock = lambda: T0 + timedelta(days=1)
    purchase(ctx, "M-ANN-SOFA", [SOFA], member_id="M-ANN", at=T0 + timedelta(days=1))
    sweep(ctx, T0 + timedelta(days=2))
    assert stage(ctx, "M-ANN") == "growing"  # 1,300 in 90 days
    assert moves(ctx, "M-ANN")[-1] == ("growing", "mature")
    assert awarded(ctx, "M-ANN", "thanks-for-growing") == 200

    sweep(ctx, T0 + timedelta(days=3))  # nothing changed: no second event, no second gift
    assert len(moves(ctx, "M-ANN")) == 2
    assert awarded(ctx, "M-ANN", "thanks-for-growing") == 200

    monthly_mugs(ctx, "M-ANN", T0 + timedelta(days=25), T0 + timedelta(days=85))
    sweep(ctx, T0 + timedelta(days=100))  # the sofa is in her usual now: 300 is as usual
    assert stage(ctx, "M-ANN") == "mature"
    assert moves(ctx, "M-ANN")[-1] == ("mature", "growing")
    assert notified(ctx, "M-ANN").count("settled-back") == 1


def test_a_member_back_at_the_till_is_growing_and_the_next_sweep_agrees(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    join(ctx, "M-GONE", T0 - timedelta(days=800))
    purchase(ctx, "S-OLD", [MUG], member_id="M-GONE", at=T0 - timedelta(days=200))
    sweep(ctx, T0)
    assert stage(ctx, "M-GONE") == "lapsed"
    receipt = purchase(ctx, "S-BACK", [MUG], member_id="M-GONE",
                       at=T0 + timedelta(days=1)).body
    assert "welcome-back" in [d["rule_id"] for d in receipt["decisions"]]
    assert stage(ctx, "M-GONE") == "growing"
    sweep(ctx, T0 + timedelta(days=2))  # 100 in 90 days against 100 in the year before
    assert stage(ctx, "M-GONE") == "growing"
    assert moves(ctx, "M-GONE") == [("lapsed", "new")]  # the sweep moved her nowhere else


def test_replaying_the_history_decides_a_coming_back_as_the_till_did(
    ctx: ServiceContext,
) -> None:
    """The backtest replays the till's purchase through the same decision: the member comes
    back growing, the welcome-back rule reacts, and nothing differs from what was recorded."""
    files = with_welcome_back_gift(ctx)
    purchase(ctx, "S-BACK", [MUG], member_id="M-GONE", at=T0 + timedelta(days=1))
    sweep(ctx, T0 + timedelta(days=2))
    assert awarded(ctx, "M-GONE", "welcome-back") == 300

    report = backtest(ctx, files, start=T0 - timedelta(days=900), end=T0 + timedelta(days=3))
    assert report["replay_check"]["differences"] == 0, report["replay_check"]
    assert report["replay_check"]["compared"] > 0
    assert report["differing_decisions"] == 0
    welcome = next(r for r in report["per_rule"] if r["rule_id"] == "welcome-back")
    assert welcome["difference"] == 0, welcome
    assert report["totals"]["draft"]["points_issued"] == \
        report["totals"]["against"]["points_issued"]
