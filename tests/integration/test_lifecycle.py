"""Lifecycle stages from recency, frequency and tenure, and a drifting member coming back at
the till."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from loyalty.domain.commands import EnrolMember
from loyalty.engine import read_rule_dir
from loyalty.services import members
from loyalty.services.context import ServiceContext
from loyalty.services.rules import activate
from loyalty.services.sweep import run_sweep
from loyalty.services.sweep.lifecycle import LifecyclePhase
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, purchase

MUG = ("MUG", "homeware", 1, "100.00")


def join(ctx: ServiceContext, member_id: str, enrolled_at: datetime) -> None:
    members.enrol(ctx, EnrolMember(member_id=member_id, name=member_id,
                                   email=f"{member_id.lower()}@example.com",
                                   enrolled_at=enrolled_at))


def stage(ctx: ServiceContext, member_id: str) -> str:
    with ctx.uow(read_only=True) as uow:
        value: str = uow.connection.execute(select(t.members.c.lifecycle_stage).where(
            t.members.c.member_id == member_id)).scalar_one()
    return value


def sweep(ctx: ServiceContext, as_of: datetime) -> None:
    run_sweep(ctx, as_of, phases=[LifecyclePhase()])


def test_a_member_who_never_bought_stays_new_until_declining_days_then_is_dormant_for_good(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    join(ctx, "M-IDLE", T0)
    sweep(ctx, T0 + timedelta(days=40))  # past new_days, but nothing bought yet
    assert stage(ctx, "M-IDLE") == "new"
    sweep(ctx, T0 + timedelta(days=61))
    assert stage(ctx, "M-IDLE") == "dormant"
    for days in (130, 400):  # past lapsed_days and churned_days: still nothing to lose
        sweep(ctx, T0 + timedelta(days=days))
        assert stage(ctx, "M-IDLE") == "dormant"
    assert moves(ctx, "M-IDLE") == [("dormant", "new")]


def moves(ctx: ServiceContext, member_id: str) -> list[tuple[str, str]]:
    """The stage changes the rules were told of, oldest first: (stage, previous)."""
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(
            select(t.events.c.attributes).where(t.events.c.member_id == member_id,
                                                t.events.c.type == "lifecycle_changed")
            .order_by(t.events.c.occurred_at)).scalars().all()
    return [(a["stage"], a["previous"]) for a in rows]


def test_a_first_purchase_after_months_of_dormancy_is_no_welcome_back(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    join(ctx, "M-LATE", T0 - timedelta(days=800))
    sweep(ctx, T0)
    assert stage(ctx, "M-LATE") == "dormant"
    receipt = purchase(ctx, "S-FIRST", [MUG], member_id="M-LATE",
                       at=T0 + timedelta(days=1)).body
    assert "welcome-back" not in [d["rule_id"] for d in receipt["decisions"]]
    assert receipt["points"]["earned"] == 100  # base earn only
    sweep(ctx, T0 + timedelta(days=2))
    assert stage(ctx, "M-LATE") == "growing"  # nothing bought before: more than their usual
    assert moves(ctx, "M-LATE") == [("dormant", "new"), ("growing", "dormant")]


def test_a_member_marked_lapsed_before_ever_buying_is_not_welcomed_back_on_a_first_purchase(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    join(ctx, "M-OLD", T0 - timedelta(days=800))
    with ctx.uow() as uow:  # a stage an earlier sweep gave members who had never bought
        uow.connection.execute(update(t.members).where(t.members.c.member_id == "M-OLD")
                               .values(lifecycle_stage="lapsed"))
        uow.commit()
    receipt = purchase(ctx, "S-FIRST", [MUG], member_id="M-OLD",
                       at=T0 + timedelta(days=1)).body
    assert "welcome-back" not in [d["rule_id"] for d in receipt["decisions"]]
    assert stage(ctx, "M-OLD") == "growing"


def test_a_regular_who_buys_at_under_half_their_pace_is_declining_despite_a_recent_visit(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    join(ctx, "M-REGULAR", T0 - timedelta(days=800))
    join(ctx, "M-STEADY", T0 - timedelta(days=800))
    for month in range(8):  # monthly until 100 days ago, then once 10 days ago
        purchase(ctx, f"S-R-{month}", [MUG], member_id="M-REGULAR",
                 at=T0 - timedelta(days=330 - 30 * month))
    purchase(ctx, "S-R-last", [MUG], member_id="M-REGULAR", at=T0 - timedelta(days=10))
    for month in range(16):  # monthly for 15 months, right up to now
        purchase(ctx, f"S-S-{month}", [MUG], member_id="M-STEADY",
                 at=T0 - timedelta(days=455 - 30 * month))
    sweep(ctx, T0)
    assert stage(ctx, "M-REGULAR") == "declining"  # 1 purchase in 90 days, pace predicts 2.2
    assert stage(ctx, "M-STEADY") == "mature"


def test_a_purchase_brings_a_lapsed_member_back_and_the_rules_react_on_the_receipt(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    join(ctx, "M-GONE", T0 - timedelta(days=800))
    purchase(ctx, "S-OLD", [MUG], member_id="M-GONE", at=T0 - timedelta(days=200))
    sweep(ctx, T0)
    assert stage(ctx, "M-GONE") == "lapsed"
    receipt = purchase(ctx, "S-BACK", [MUG], member_id="M-GONE",
                       at=T0 + timedelta(days=1)).body
    assert stage(ctx, "M-GONE") == "growing"
    assert "welcome-back" in [d["rule_id"] for d in receipt["decisions"]]
    with ctx.uow(read_only=True) as uow:
        sent = uow.connection.execute(select(t.notifications.c.notification).where(
            t.notifications.c.member_id == "M-GONE")).scalars().all()
    assert "welcome-back" in sent


def with_welcome_back_gift(ctx: ServiceContext) -> dict[str, str]:
    """The bundled rules with 300 points on welcome-back, in force; M-GONE, a member of 800
    days who last bought 200 days ago, swept as of T0 (lapsed). Returns the rule files."""
    files = read_rule_dir(RULES_DIR)
    files["winback.yaml"] = files["winback.yaml"].replace(
        '      - notify: {notification: welcome-back, message: "Welcome back! We missed you."}',
        '      - notify: {notification: welcome-back, message: "Welcome back! We missed you."}\n'
        "      - award_points: {points: 300}")
    activate(ctx, files, activated_by="test", reason="a welcome-back gift of points")
    ctx.rules.invalidate()
    ctx.clock = lambda: T0
    join(ctx, "M-GONE", T0 - timedelta(days=800))
    purchase(ctx, "S-OLD", [MUG], member_id="M-GONE", at=T0 - timedelta(days=200))
    sweep(ctx, T0)
    return files


def test_the_receipt_counts_the_points_of_the_rules_reacting_to_a_member_coming_back(
    ctx: ServiceContext,
) -> None:
    with_welcome_back_gift(ctx)
    with ctx.uow(read_only=True) as uow:
        before = uow.connection.execute(select(
            t.members.c.points_pending + t.members.c.points_available).where(
            t.members.c.member_id == "M-GONE")).scalar_one()
    receipt = purchase(ctx, "S-BACK", [MUG], member_id="M-GONE",
                       at=T0 + timedelta(days=1)).body
    awards = {d["rule_id"]: d["points"] for d in receipt["decisions"] if d.get("points")}
    assert awards["welcome-back"] == 300 and awards["base-earn"] == 100
    assert receipt["points"]["earned"] == sum(awards.values())
    grown = receipt["balance"]["pending"] + receipt["balance"]["available"] - before
    assert receipt["points"]["earned"] == grown
