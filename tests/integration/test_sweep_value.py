"""Members' value in the sweep: current value, potential value, clv and segment written for every
member who bought, the models fitted once per instant for every shard, segments by the
thresholds, a second run changing nothing, and each change kept in the member's history."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.value import ValuePhase
from loyalty.services.sweep.vip import VipPhase
from loyalty.services.value import MODEL_PHASE, RECORD_STEP, band
from loyalty.store import tables as t
from tests.integration.test_sweep_tiers import add_member, use_program
from tests.integration.value_members import AS_OF, buys, regulars

LATER = AS_OF + timedelta(days=120)


@pytest.fixture
def programme(ctx: ServiceContext) -> None:
    """Forty regular members of two years, buying every 7 to 180 days for 150 to 1,200; BIG,
    three purchases of 10,000 over the year; three members who stopped buying 400 days ago;
    NEW, who joined a month ago and has bought every four days for 300; NEVER, who never
    bought."""
    ctx.clock = lambda: AS_OF
    regulars(ctx)
    add_member(ctx, "BIG", "member", bucket=51)
    buys(ctx, "BIG", "10000.00", [20, 140, 260])
    for i in range(3):
        add_member(ctx, f"LAPSED-{i}", "member", bucket=60 + i)
        buys(ctx, f"LAPSED-{i}", "800.00", [400 + 40 * k for k in range(6)])
    add_member(ctx, "NEW", "member", bucket=70)
    buys(ctx, "NEW", "300.00", [1 + 4 * k for k in range(8)])
    add_member(ctx, "NEVER", "member", bucket=71)


def sweep(ctx: ServiceContext, as_of: datetime = AS_OF, *shards: str) -> list[dict[str, Any]]:
    return [run_sweep(ctx, as_of, shard=Shard.parse(shard), phases=[ValuePhase()],
                      batch_size=4)["phases"]["value"] for shard in shards or ("1/1",)]


def values(ctx: ServiceContext) -> dict[str, Any]:
    m = t.members.c
    with ctx.uow(read_only=True) as uow:
        return {row.member_id: row for row in uow.connection.execute(
            select(m.member_id, m.current_value, m.potential_value, m.clv, m.value_segment,
                   m.value_at))}


def segments(ctx: ServiceContext) -> dict[str, str | None]:
    return {member_id: row.value_segment for member_id, row in values(ctx).items()}


def recorded(ctx: ServiceContext) -> list[tuple[Any, ...]]:
    c = t.member_changes.c
    with ctx.uow(read_only=True) as uow:
        return [tuple(row) for row in uow.connection.execute(
            select(c.member_id, c.field, c.old_value, c.new_value, c.changed_at, c.actor,
                   c.source).order_by(c.id))]


def test_every_member_who_bought_gets_a_value_and_a_segment(
    ctx: ServiceContext, programme: None
) -> None:
    (counts,) = sweep(ctx)
    found = values(ctx)
    assert counts["valued"] == 45
    assert found["NEVER"].clv is None and found["NEVER"].value_segment is None
    for member_id, row in found.items():
        if member_id == "NEVER":
            continue
        assert row.value_at == AS_OF
        assert row.clv == row.current_value + row.potential_value
        assert row.potential_value >= 0
    # current value: spend over the last 365 days
    assert found["BIG"].current_value == Decimal("30000.00")
    assert found["REG-00"].current_value == Decimal("7950.00")  # 53 purchases of 150
    assert found["NEW"].current_value == Decimal("2400.00")
    assert found["LAPSED-0"].current_value == Decimal("0.00")
    # those who stopped buying long ago are expected to bring far less than their old pace
    # (7,300 a year); a new member buying often, much more than they brought so far
    assert found["LAPSED-0"].potential_value < Decimal("2000")
    assert found["NEW"].potential_value > 4 * found["NEW"].current_value


def test_segments_follow_the_top_fifth_by_current_and_by_potential_value(
    ctx: ServiceContext, programme: None
) -> None:
    sweep(ctx)
    found = values(ctx)
    ranked_current = sorted((row.current_value for row in found.values()
                             if row.clv is not None), reverse=True)
    ranked_potential = sorted((row.potential_value for row in found.values()
                               if row.clv is not None), reverse=True)
    current_bar, potential_bar = ranked_current[8], ranked_potential[8]  # rank ceil(45 x 20%)
    for member_id, row in found.items():
        if row.clv is None:
            continue
        high_now = row.current_value >= current_bar
        high_to_come = row.potential_value >= potential_bar
        expected = {(True, True): "keep", (False, True): "grow", (True, False): "maintain",
                    (False, False): "reduce-cost"}[(high_now, high_to_come)]
        assert row.value_segment == expected, member_id
    named = segments(ctx)
    assert named["NEW"] == "grow"
    assert named["BIG"] in ("keep", "maintain")
    assert named["LAPSED-1"] == "reduce-cost"


def test_the_models_are_fitted_once_per_instant_and_every_shard_uses_them(
    ctx: ServiceContext, programme: None
) -> None:
    sweep(ctx, AS_OF, "1/2", "2/2")
    together = values(ctx)
    r = t.sweep_runs.c
    with ctx.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(r.shard, r.counts).where(
            r.phase == MODEL_PHASE)).all()
    assert [row.shard for row in stored] == ["all"]
    model = stored[0].counts
    assert model["sample"] == 45
    assert set(model["model"]) == {"r", "alpha", "a", "b", "p", "q", "gamma"}
    ranked = sorted((row.current_value for row in together.values() if row.clv is not None),
                    reverse=True)
    assert Decimal(str(model["current_threshold"])) == ranked[8]
    with ctx.uow() as uow:
        uow.connection.execute(t.members.update().values(
            current_value=None, potential_value=None, clv=None, value_segment=None,
            value_at=None))
        uow.connection.execute(t.sweep_runs.delete().where(r.phase == "value"))
        uow.commit()
    sweep(ctx, AS_OF)  # the same instant again, one shard: the same model
    assert values(ctx) == together


def test_a_second_run_for_the_same_instant_changes_nothing(
    ctx: ServiceContext, programme: None
) -> None:
    sweep(ctx)
    before = values(ctx), recorded(ctx)
    for counts in sweep(ctx, AS_OF, "1/2", "2/2"):  # other shards: the phase runs again
        assert counts.get("recorded", 0) == 0 and "changed" not in counts, counts
    assert (values(ctx), recorded(ctx)) == before


def test_each_change_of_value_is_kept_in_the_members_history(
    ctx: ServiceContext, programme: None
) -> None:
    sweep(ctx)
    first = [row for row in recorded(ctx) if row[0] == "NEW"]
    found = values(ctx)["NEW"]
    assert first == [
        ("NEW", "value_segment", None, "grow", AS_OF, "sweep", "value"),
        ("NEW", "clv", None, str(found.clv), AS_OF, "sweep", "value"),
        ("NEW", "potential_value", None, str(found.potential_value), AS_OF, "sweep", "value"),
    ]
    sweep(ctx, LATER)  # four months on, without a purchase from anyone: NEW has left
    now = values(ctx)["NEW"]
    assert now.value_segment == "reduce-cost"
    assert now.potential_value < Decimal("100")
    assert [row for row in recorded(ctx) if row[0] == "NEW" and row[4] == LATER] == [
        ("NEW", "value_segment", "grow", "reduce-cost", LATER, "sweep", "value"),
        ("NEW", "clv", str(found.clv), str(now.clv), LATER, "sweep", "value"),
        ("NEW", "potential_value", str(found.potential_value), str(now.potential_value),
         LATER, "sweep", "value"),
    ]


def test_the_history_keeps_each_value_within_a_tenth_without_recording_every_move(
    ctx: ServiceContext, programme: None
) -> None:
    sweep(ctx)
    first = values(ctx)
    day_after = AS_OF + timedelta(days=1)
    sweep(ctx, day_after)  # a day on: every value moves a little
    moved = values(ctx)
    assert all(moved[m].potential_value != first[m].potential_value
               for m in ("REG-00", "REG-12", "NEW"))
    kept = [row for row in recorded(ctx) if row[4] == day_after]
    assert len(kept) < 10  # of 45 members' two figures
    latest = {(row[0], row[1]): row[3] for row in recorded(ctx)}
    for member_id, row in moved.items():
        if row.clv is None:
            continue
        for field, value in (("clv", row.clv), ("potential_value", row.potential_value)):
            kept_value = Decimal(latest[(member_id, field)])
            if value > 0:
                assert Decimal("1") / RECORD_STEP < kept_value / value < RECORD_STEP, \
                    (member_id, field)
            else:
                assert kept_value <= 0
    for _, _, old, new, *_ in kept:  # recorded: moved into another x1.1 band
        assert band(Decimal(old)) != band(Decimal(new))


def test_with_current_margin_values_are_the_margin_of_spend(
    ctx: ServiceContext, programme: None
) -> None:
    sweep(ctx)
    spend = values(ctx)
    use_program(ctx, ("current: spend", "current: margin"), ("margin_percent: 25",
                                                              "margin_percent: 40"))
    sweep(ctx, LATER)
    sweep(ctx, AS_OF + timedelta(seconds=1))
    margin = values(ctx)
    assert margin["BIG"].current_value == Decimal("12000.00")  # 40% of 30,000
    ratio = margin["REG-03"].potential_value / spend["REG-03"].potential_value
    assert abs(ratio - Decimal("0.4")) < Decimal("0.01")


def test_a_member_merged_away_is_not_valued_and_one_who_no_longer_has_purchases_loses_it(
    ctx: ServiceContext, programme: None
) -> None:
    with ctx.uow() as uow:
        uow.connection.execute(t.members.update().where(t.members.c.member_id == "LAPSED-2")
                               .values(merged_into="LAPSED-1"))
        uow.commit()
    sweep(ctx)
    assert values(ctx)["LAPSED-2"].clv is None
    sweep(ctx, AS_OF - timedelta(days=3 * 365))  # before anyone bought
    assert {row.clv for row in values(ctx).values()} == {None}
    with ctx.uow(read_only=True) as uow:
        assert uow.connection.execute(select(func.count()).select_from(t.members).where(
            t.members.c.value_at.is_not(None))).scalar_one() == 0





def test_vips_may_be_the_top_of_the_programme_by_lifetime_value(
    ctx: ServiceContext, programme: None
) -> None:
    use_program(ctx, ("  metric: spend_365d\n  top_percent: 5", "  metric: clv\n  top_percent: 5"),
                ("tiers: [platinum]", "tiers: []"), ("min_value: 80000", "min_value: 1000000"))
    report = run_sweep(ctx, AS_OF, phases=[ValuePhase(), VipPhase()], batch_size=7)
    found = values(ctx)
    top = sorted((row.clv for row in found.values() if row.clv is not None), reverse=True)
    bar = top[2]  # rank ceil(45 x 5%)
    with ctx.uow(read_only=True) as uow:
        vips = set(uow.connection.execute(select(t.members.c.member_id).where(
            t.members.c.vip.is_(True))).scalars())
    assert vips == {m for m, row in found.items() if row.clv is not None and row.clv >= bar}
    assert len(vips) == 3 and report["phases"]["vip"]["joined"] == 3


def test_purchases_that_carry_no_money_leave_members_unvalued_and_the_sweep_goes_on(
    ctx: ServiceContext,
) -> None:
    """A programme whose purchases have no totals (a hotel counting nights at zero price, a
    freight carrier counting tonnes) has no spend to predict: nobody is valued, nothing fails."""
    ctx.clock = lambda: AS_OF
    for i in range(3):
        add_member(ctx, f"FREE-{i}", "member", bucket=80 + i)
        buys(ctx, f"FREE-{i}", "0.00", [10, 40, 90])
    (counts,) = sweep(ctx)
    assert counts.get("valued", 0) == 0
    assert {row.clv for row in values(ctx).values()} == {None}
