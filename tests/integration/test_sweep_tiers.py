"""Tier requalification in the sweep: notice, grace period, one step or recalculation, history,
and nothing more on a second run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from loyalty.engine import read_rule_dir
from loyalty.services.context import ServiceContext
from loyalty.services.rules import activate
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.tiers import TierPhase
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, purchase

REACHED = datetime(2025, 11, 20, 6, 3, tzinfo=UTC)
REVIEW = datetime(2026, 11, 20, 6, 3, tzinfo=UTC)  # the anniversary of REACHED
GRACE_END = REVIEW + timedelta(days=30)


def add_member(ctx: ServiceContext, member_id: str, tier: str, *, since: datetime = REACHED,
               bucket: int = 0, review_at: datetime | None = None) -> None:
    """A member row written directly, as enrolment and the till would have left it."""
    with ctx.uow() as uow:
        uow.connection.execute(insert(t.members).values(
            member_id=member_id, name=member_id, enrolled_at=since - timedelta(days=400),
            attributes={}, tags=[], tier=tier, tier_since=since, tier_review_at=review_at,
            vip=False, lifecycle_stage="mature", bucket=bucket, categories=[],
            created_at=since))
        uow.commit()


def add_spend(ctx: ServiceContext, member_id: str, amount: str, at: datetime) -> None:
    """A purchase (or, negative, a return) in the transaction history only."""
    with ctx.uow() as uow:
        count = len(uow.connection.execute(select(t.transactions.c.transaction_id)).all())
        uow.connection.execute(insert(t.transactions).values(
            transaction_id=f"T-{member_id}-{count}", member_id=member_id,
            type="purchase" if Decimal(amount) > 0 else "return", occurred_at=at,
            recorded_at=at, total=Decimal(amount), points_earned=0, points_clawed_back=0,
            returned_total=Decimal("0")))
        uow.commit()


def use_program(ctx: ServiceContext, *changes: tuple[str, str]) -> None:
    """Activate the bundled rules with program.yaml edited by `changes` (old, new)."""
    files = read_rule_dir(RULES_DIR)
    for old, new in changes:
        assert old in files["program.yaml"]
        files["program.yaml"] = files["program.yaml"].replace(old, new)
    activate(ctx, files, "test", reason="test")


def member(ctx: ServiceContext, member_id: str) -> Any:
    with ctx.uow(read_only=True) as uow:
        return uow.connection.execute(
            select(t.members).where(t.members.c.member_id == member_id)).one()


def history(ctx: ServiceContext, member_id: str) -> list[Any]:
    with ctx.uow(read_only=True) as uow:
        return list(uow.connection.execute(select(t.tier_history).where(
            t.tier_history.c.member_id == member_id).order_by(t.tier_history.c.id)).all())


def raised(ctx: ServiceContext, kind: str) -> list[str]:
    """Keys of the sweep events of `kind` raised so far."""
    with ctx.uow(read_only=True) as uow:
        keys = uow.connection.execute(select(t.idempotency_keys.c.key).where(
            t.idempotency_keys.c.scope == "sweep")).scalars().all()
    return sorted(key for key in keys if key.startswith(f"{kind}:"))


def state(ctx: ServiceContext) -> list[tuple[Any, ...]]:
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        members = conn.execute(select(
            t.members.c.member_id, t.members.c.tier, t.members.c.tier_since,
            t.members.c.tier_review_at, t.members.c.tier_notice_for,
        ).order_by(t.members.c.member_id)).all()
        rows = conn.execute(select(t.tier_history.c.member_id, t.tier_history.c.to_tier)).all()
        keys = conn.execute(select(t.idempotency_keys.c.key)).scalars().all()
    return [tuple(r) for r in members] + [tuple(r) for r in rows] + [tuple(sorted(keys))]


def sweep(ctx: ServiceContext, as_of: datetime, shard: str = "1/1") -> dict[str, Any]:
    report = run_sweep(ctx, as_of, shard=Shard.parse(shard), phases=[TierPhase()], batch_size=3)
    counts: dict[str, Any] = report["phases"]["tiers"]
    return counts


def lapsed_gold(ctx: ServiceContext, member_id: str = "M-GOLD") -> None:
    """Gold since REACHED; spent 1,200 in the last year: not enough to keep gold."""
    add_member(ctx, member_id, "gold")
    add_spend(ctx, member_id, "1200.00", REVIEW - timedelta(days=100))


def test_a_gold_member_keeps_gold_through_the_grace_period_and_drops_one_step_after(
    ctx: ServiceContext,
) -> None:
    lapsed_gold(ctx)
    sweep(ctx, GRACE_END - timedelta(days=1))
    assert member(ctx, "M-GOLD").tier == "gold"
    assert history(ctx, "M-GOLD") == []
    counts = sweep(ctx, GRACE_END)
    assert counts["downgraded"] == 1
    row = member(ctx, "M-GOLD")
    assert (row.tier, row.tier_since, row.tier_review_at, row.tier_notice_for) == (
        "silver", GRACE_END, GRACE_END.replace(year=2027), None)
    (change,) = history(ctx, "M-GOLD")
    assert (change.from_tier, change.to_tier, change.changed_at) == ("gold", "silver", GRACE_END)
    assert change.reason == "requalification on 2026-11-20: spend_365d 1200.00 below gold's 20000"
    assert change.rule_id == "tiers.requalification"
    assert change.source_id == f"sweep:{GRACE_END.isoformat()}"
    assert raised(ctx, "tier_changed") == [f"tier_changed:M-GOLD:{REVIEW.isoformat()}"]


def test_a_member_is_warned_once_notice_days_before_the_downgrade(ctx: ServiceContext) -> None:
    lapsed_gold(ctx)
    notice_from = GRACE_END - timedelta(days=30)  # notice_days before the downgrade
    assert "notices" not in sweep(ctx, REVIEW - timedelta(days=30))
    assert "notices" not in sweep(ctx, notice_from - timedelta(seconds=1))
    assert sweep(ctx, notice_from)["notices"] == 1
    assert member(ctx, "M-GOLD").tier_notice_for == REVIEW
    assert "notices" not in sweep(ctx, notice_from + timedelta(days=1))
    assert "notices" not in sweep(ctx, REVIEW + timedelta(days=5))
    assert raised(ctx, "downgrade_notice") == [f"downgrade_notice:M-GOLD:{REVIEW.isoformat()}"]
    assert member(ctx, "M-GOLD").tier == "gold"


def test_the_notice_lets_the_rules_send_an_offer(ctx: ServiceContext) -> None:
    files = read_rule_dir(RULES_DIR)
    files["retention.yaml"] = (
        "ruleset: retention\ndescription: Keep members in their tier.\n"
        "on: [downgrade_notice]\nrules:\n"
        "  - id: keep-your-tier\n"
        "    description: Spend a little more to keep your tier\n"
        "    when:\n      - {fact: event.attributes.tier, in: [gold, platinum]}\n"
        "    then:\n"
        "      - issue_offer: {offer: KEEP-TIER, benefit: bonus_points, value: 300,"
        " valid_days: 30}\n")
    activate(ctx, files, "test", reason="test")
    lapsed_gold(ctx)
    sweep(ctx, REVIEW)
    sweep(ctx, REVIEW + timedelta(days=10))
    with ctx.uow(read_only=True) as uow:
        offers = uow.connection.execute(select(t.offers.c.offer_code).where(
            t.offers.c.member_id == "M-GOLD")).scalars().all()
    assert offers == ["KEEP-TIER"]


def test_a_member_who_still_qualifies_keeps_the_tier_until_the_next_anniversary(
    ctx: ServiceContext,
) -> None:
    add_member(ctx, "M-KEEP", "gold")
    add_spend(ctx, "M-KEEP", "25000.00", REVIEW - timedelta(days=10))
    assert sweep(ctx, GRACE_END)["requalified"] == 1
    row = member(ctx, "M-KEEP")
    assert (row.tier, row.tier_since, row.tier_review_at) == ("gold", REACHED,
                                                              REVIEW.replace(year=2027))
    assert history(ctx, "M-KEEP") == []
    assert raised(ctx, "downgrade_notice") == [] and raised(ctx, "tier_changed") == []


def test_returns_count_against_the_tier(ctx: ServiceContext) -> None:
    add_member(ctx, "M-BACK", "gold")
    add_spend(ctx, "M-BACK", "25000.00", REVIEW - timedelta(days=10))
    add_spend(ctx, "M-BACK", "-6000.00", REVIEW - timedelta(days=5))
    sweep(ctx, GRACE_END)
    assert member(ctx, "M-BACK").tier == "silver"
    (change,) = history(ctx, "M-BACK")
    assert change.reason == "requalification on 2026-11-20: spend_365d 19000.00 below gold's 20000"


def test_one_step_drops_platinum_to_gold_and_recalculate_drops_it_to_what_is_earned(
    ctx: ServiceContext,
) -> None:
    add_member(ctx, "M-STEP", "platinum")
    add_spend(ctx, "M-STEP", "1200.00", REVIEW - timedelta(days=100))
    sweep(ctx, GRACE_END)
    assert member(ctx, "M-STEP").tier == "gold"

    use_program(ctx, ("downgrade: one_step", "downgrade: recalculate"))
    add_member(ctx, "M-RECALC", "platinum")
    add_spend(ctx, "M-RECALC", "1200.00", REVIEW - timedelta(days=100))
    add_member(ctx, "M-SILVER", "platinum")
    add_spend(ctx, "M-SILVER", "6000.00", REVIEW - timedelta(days=100))
    sweep(ctx, GRACE_END + timedelta(days=1))
    recalculated = member(ctx, "M-RECALC")
    assert (recalculated.tier, recalculated.tier_review_at) == ("member", None)
    assert member(ctx, "M-SILVER").tier == "silver"
    assert [h.to_tier for h in history(ctx, "M-RECALC")] == ["member"]


def test_calendar_year_requalification_reviews_at_new_year(ctx: ServiceContext) -> None:
    use_program(ctx, ("requalification: anniversary", "requalification: calendar_year"))
    add_member(ctx, "M-YEAR", "silver", since=datetime(2026, 3, 1, tzinfo=UTC))
    new_year = datetime(2027, 1, 1, tzinfo=UTC)
    sweep(ctx, new_year + timedelta(days=29))
    assert member(ctx, "M-YEAR").tier == "silver"
    sweep(ctx, new_year + timedelta(days=30))
    row = member(ctx, "M-YEAR")
    assert (row.tier, row.tier_review_at) == ("member", None)


def test_a_member_upgraded_at_the_till_is_reviewed_a_year_later(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-TILL")
    purchase(ctx, "S-1", [("GIFT-CARD", "gift-cards", 1, "20000.00")], member_id="M-TILL")
    assert member(ctx, "M-TILL").tier == "gold"
    year_later = T0.replace(year=2027)
    sweep(ctx, year_later + timedelta(days=29))
    purchase(ctx, "S-2", [("MUG", "homeware", 1, "100.00")], member_id="M-TILL",
             at=year_later + timedelta(days=29, hours=1))
    assert member(ctx, "M-TILL").tier == "gold"  # never down in the middle of a purchase
    sweep(ctx, year_later + timedelta(days=30))
    assert member(ctx, "M-TILL").tier == "silver"


def test_a_second_run_and_other_shards_for_the_same_instant_change_nothing(
    ctx: ServiceContext,
) -> None:
    for i in range(8):
        add_member(ctx, f"M-{i:02d}", ["silver", "gold", "platinum"][i % 3], bucket=i)
        add_spend(ctx, f"M-{i:02d}", f"{1000 * i * i}.00", REVIEW - timedelta(days=40))
    sweep(ctx, REVIEW - timedelta(days=10))
    sweep(ctx, GRACE_END)
    before = state(ctx)
    for shard in ("1/2", "2/2"):
        counts = sweep(ctx, GRACE_END, shard)
        assert set(counts) == {"members"}, counts
    assert state(ctx) == before


def test_shards_together_decide_as_one_run_does(ctx: ServiceContext) -> None:
    for i in range(10):
        add_member(ctx, f"M-{i:02d}", ["silver", "gold", "platinum"][i % 3], bucket=i)
        add_spend(ctx, f"M-{i:02d}", f"{700 * i * i}.00", REVIEW - timedelta(days=40))
    for shard in ("2/2", "1/2"):
        sweep(ctx, GRACE_END, shard)
    tiers = {row.member_id: row.tier for i in range(10)
             for row in [member(ctx, f"M-{i:02d}")]}
    assert tiers == {
        "M-00": "member", "M-01": "silver", "M-02": "gold", "M-03": "silver",
        "M-04": "silver", "M-05": "gold", "M-06": "silver", "M-07": "gold",
        "M-08": "gold", "M-09": "silver",
    }


def test_the_warning_counts_only_spending_still_inside_the_window_at_the_downgrade(
    ctx: ServiceContext,
) -> None:
    add_member(ctx, "M-ONCE", "gold")
    add_spend(ctx, "M-ONCE", "20000.00", REACHED + timedelta(days=10))  # out of the window by then
    assert sweep(ctx, GRACE_END - timedelta(days=30))["notices"] == 1
    add_spend(ctx, "M-ONCE", "20000.00", REVIEW + timedelta(days=5))  # buys again in the grace
    assert sweep(ctx, GRACE_END)["requalified"] == 1
    assert member(ctx, "M-ONCE").tier == "gold"


def test_tiers_may_follow_visits_over_30_or_90_days(ctx: ServiceContext) -> None:
    use_program(ctx, ("metric: spend_365d          #", "metric: visits_90d          #"))
    add_member(ctx, "M-VISITS", "silver")
    for day in range(3):
        add_spend(ctx, "M-VISITS", "10.00", GRACE_END - timedelta(days=10 + day))
    values = sweep(ctx, GRACE_END)
    assert values.get("downgraded", 0) == 1  # 3 visits: below silver's 5000
    assert member(ctx, "M-VISITS").tier == "member"


def add_points(ctx: ServiceContext, member_id: str, kind: str, points: int, at: datetime) -> None:
    """A purchase that earned `points`, or a return that took `points` back, in history only."""
    with ctx.uow() as uow:
        count = len(uow.connection.execute(select(t.transactions.c.transaction_id)).all())
        uow.connection.execute(insert(t.transactions).values(
            transaction_id=f"P-{member_id}-{count}", member_id=member_id, type=kind,
            occurred_at=at, recorded_at=at, total=Decimal("100.00"),
            points_earned=points if kind == "purchase" else 0,
            points_clawed_back=points if kind == "return" else 0,
            returned_total=Decimal("0")))
        uow.commit()


def test_tiers_may_follow_points_earned_over_a_year_net_of_returns(ctx: ServiceContext) -> None:
    use_program(ctx, ("metric: spend_365d          #", "metric: points_365d         #"))
    for member_id in ("M-KEEPS", "M-RETURNED"):
        add_member(ctx, member_id, "gold")
        add_points(ctx, member_id, "purchase", 25_000, REVIEW - timedelta(days=100))
    add_points(ctx, "M-RETURNED", "return", 10_000, REVIEW - timedelta(days=50))
    add_points(ctx, "M-KEEPS", "purchase", 50_000, REVIEW - timedelta(days=400))  # too old
    values = sweep(ctx, GRACE_END)
    assert values.get("downgraded", 0) == 1  # 15,000 net points: below gold's 20,000
    assert member(ctx, "M-RETURNED").tier == "silver"
    assert member(ctx, "M-KEEPS").tier == "gold"


def test_a_points_ladder_upgrades_at_the_till_on_the_points_a_purchase_earns(
    ctx: ServiceContext,
) -> None:
    use_program(ctx, ("metric: spend_365d          #", "metric: points_365d         #"))
    enrol(ctx, "M-1001")
    receipt = purchase(ctx, "T-PTS-1", [("TV-1", "electronics", 1, "6000.00")]).body
    assert receipt["points"]["earned"] == 6000  # over silver's 5000, under gold's 20000
    assert receipt["tier"] == {"before": "member", "after": "silver", "changed": True}
