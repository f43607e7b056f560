"""VIP in the sweep: the top of the pyramid by rank and everyone above the value, from the
eligible tiers; they lose it when they drop out; shards agree; a second run changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.base import run_key
from loyalty.services.sweep.tiers import TierPhase
from loyalty.services.sweep.vip import VipPhase
from loyalty.store import tables as t
from tests.integration.helpers import T0, enrol, purchase
from tests.integration.test_sweep_tiers import add_member, add_spend, raised, use_program

LATER = T0 + timedelta(days=10)


@pytest.fixture
def pyramid(ctx: ServiceContext) -> None:
    """100 platinum members spending 50,000 to 59,800 and one spending 85,000; a gold member
    spending 90,000 (not eligible) and a platinum member who spent nothing; the top 2% are VIP."""
    ctx.clock = lambda: T0
    use_program(ctx, ("top_percent: 5", "top_percent: 2"))
    for i in range(99):
        add_member(ctx, f"P-{i:03d}", "platinum", bucket=i)
        add_spend(ctx, f"P-{i:03d}", f"{50000 + 100 * i}.00", T0 - timedelta(days=10))
    add_member(ctx, "P-RICH", "platinum", bucket=7)
    add_spend(ctx, "P-RICH", "85000.00", T0 - timedelta(days=10))
    add_member(ctx, "G-BIG", "gold", bucket=3)
    add_spend(ctx, "G-BIG", "90000.00", T0 - timedelta(days=10))
    add_member(ctx, "P-IDLE", "platinum", bucket=4)


def sweep(ctx: ServiceContext, as_of: datetime, *shards: str) -> list[dict[str, Any]]:
    return [run_sweep(ctx, as_of, shard=Shard.parse(shard), phases=[VipPhase()],
                      batch_size=7)["phases"]["vip"] for shard in shards or ("1/1",)]


def vips(ctx: ServiceContext) -> dict[str, Any]:
    with ctx.uow(read_only=True) as uow:
        return dict(uow.connection.execute(select(t.members.c.member_id, t.members.c.vip_since)
                                           .where(t.members.c.vip.is_(True))).all())


def privileges(ctx: ServiceContext, member_id: str) -> dict[str, bool]:
    """Privilege -> still held (not revoked)."""
    p = t.privileges.c
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(select(p.privilege, p.revoked_at)
                                      .where(p.member_id == member_id)).all()
    return {row.privilege: row.revoked_at is None for row in rows}


@pytest.mark.parametrize("shards", [("1/1",), ("1/2", "2/2"), ("3/3", "1/3", "2/3")])
def test_the_top_two_percent_and_everyone_above_80000_become_vip(
    ctx: ServiceContext, pyramid: None, shards: tuple[str, ...]
) -> None:
    sweep(ctx, T0, *shards)
    assert vips(ctx) == {"P-RICH": T0, "P-098": T0}  # the top 2 of 100 eligible, P-RICH > 80000
    assert sorted(raised(ctx, "vip_changed")) == [f"vip_changed:{m}:{run_key(T0)}"
                                                  for m in ("P-098", "P-RICH")]
    assert privileges(ctx, "P-098") == {"priority-service": True, "free-delivery": True,
                                        "lounge-access": True, "season-preview": True}
    with ctx.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(t.sweep_runs.c.shard, t.sweep_runs.c.counts).where(
            t.sweep_runs.c.phase == "vip-threshold")).all()
    assert [(row.shard, row.counts) for row in stored] == [
        ("all", {"threshold": "59800.00", "eligible": 100})]


def test_members_who_drop_out_of_the_top_lose_vip_and_its_privileges(
    ctx: ServiceContext, pyramid: None
) -> None:
    sweep(ctx, T0)
    add_spend(ctx, "P-000", "30000.00", LATER - timedelta(days=1))  # 80,000: above the value
    add_spend(ctx, "P-001", "30000.00", LATER - timedelta(days=1))  # 80,100: second by rank
    (counts,) = sweep(ctx, LATER)
    assert vips(ctx) == {"P-RICH": T0, "P-001": LATER, "P-000": LATER}
    assert (counts["joined"], counts["left"], counts["events"]) == (2, 1, 3)
    assert privileges(ctx, "P-098") == {"priority-service": False, "free-delivery": False,
                                        "lounge-access": False, "season-preview": False}


def test_a_member_who_leaves_the_eligible_tiers_loses_vip(
    ctx: ServiceContext, pyramid: None
) -> None:
    sweep(ctx, T0)
    with ctx.uow() as uow:
        uow.connection.execute(t.members.update().where(t.members.c.member_id == "P-RICH")
                               .values(tier="gold"))
        uow.commit()
    sweep(ctx, LATER)
    assert "P-RICH" not in vips(ctx)


def test_a_second_run_for_the_same_instant_changes_nothing(
    ctx: ServiceContext, pyramid: None
) -> None:
    sweep(ctx, T0)
    before = vips(ctx), raised(ctx, "vip_changed")
    for counts in sweep(ctx, T0, "1/2", "2/2"):  # other shards: the phase runs again
        assert set(counts) == {"members"}, counts
    assert (vips(ctx), raised(ctx, "vip_changed")) == before


def held(ctx: ServiceContext, member_id: str, as_of: datetime) -> list[str]:
    """What the member may have at `as_of`, as the till asks it."""
    with ctx.uow(read_only=True) as uow:
        return [row.privilege for row in uow.programme.active_privileges(member_id, as_of)]


def test_a_member_vip_for_over_a_year_keeps_the_privileges_until_vip_ends(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    add_member(ctx, "P-LOYAL", "platinum")
    add_spend(ctx, "P-LOYAL", "85000.00", T0 - timedelta(days=10))
    sweep(ctx, T0)
    assert held(ctx, "P-LOYAL", T0) == ["free-delivery", "lounge-access", "priority-service",
                                        "season-preview"]
    add_spend(ctx, "P-LOYAL", "85000.00", T0 + timedelta(days=300))  # still above 80,000
    later = T0 + timedelta(days=400)
    sweep(ctx, later)
    assert vips(ctx) == {"P-LOYAL": T0}
    assert held(ctx, "P-LOYAL", later) == ["free-delivery", "lounge-access",
                                           "priority-service"]  # the invitation has ended
    gone = T0 + timedelta(days=700)  # nothing bought for over a year
    sweep(ctx, gone)
    assert vips(ctx) == {}
    assert held(ctx, "P-LOYAL", gone) == []


def test_the_personal_manager_lasts_while_platinum_and_ends_with_the_downgrade(
    ctx: ServiceContext,
) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-PLAT")
    purchase(ctx, "S-PLAT", [("GIFT-CARD", "gift-cards", 1, "50000.00")], member_id="M-PLAT")
    in_grace = T0 + timedelta(days=380)  # past a year, reviewed, still platinum in the grace
    assert "personal-manager" in held(ctx, "M-PLAT", in_grace)
    downgraded = T0 + timedelta(days=396)
    report = run_sweep(ctx, downgraded, phases=[TierPhase()])
    assert report["phases"]["tiers"]["to_gold"] == 1
    assert "personal-manager" not in held(ctx, "M-PLAT", downgraded)


def tag(ctx: ServiceContext, member_id: str, *tags: str) -> None:
    with ctx.uow() as uow:
        uow.connection.execute(t.members.update().where(t.members.c.member_id == member_id)
                               .values(tags=list(tags)))
        uow.commit()


def test_a_member_tagged_vip_is_vip_whatever_their_rank_until_the_tag_goes(
    ctx: ServiceContext, pyramid: None
) -> None:
    add_member(ctx, "S-FRIEND", "silver", bucket=5)
    tag(ctx, "S-FRIEND", "vip")
    sweep(ctx, T0)
    assert "S-FRIEND" in vips(ctx)
    sweep(ctx, LATER)
    assert vips(ctx)["S-FRIEND"] == T0  # not withdrawn: the tag still holds
    assert "lounge-access" in held(ctx, "S-FRIEND", LATER)
    tag(ctx, "S-FRIEND")
    sweep(ctx, LATER + timedelta(days=1))
    assert "S-FRIEND" not in vips(ctx)


@pytest.mark.parametrize("shards", [("1/1",), ("1/2", "2/2")])
def test_a_vip_just_below_a_rising_threshold_stays_vip_without_a_new_event(
    ctx: ServiceContext, pyramid: None, shards: tuple[str, ...]
) -> None:
    """program.yaml's leave_margin_percent: 10; P-098 (59,800) was second by rank."""
    sweep(ctx, T0, *shards)
    add_spend(ctx, "P-097", "200.00", LATER - timedelta(days=1))  # 59,900: now second
    counts = sweep(ctx, LATER, *shards)
    assert vips(ctx) == {"P-RICH": T0, "P-098": T0, "P-097": LATER}
    assert sum(c.get("joined", 0) for c in counts) == 1
    assert sum(c.get("left", 0) for c in counts) == 0
    sweep(ctx, LATER + timedelta(days=7), *shards)
    assert vips(ctx) == {"P-RICH": T0, "P-098": T0, "P-097": LATER}
    assert [key for key in raised(ctx, "vip_changed") if ":P-098:" in key] == [
        f"vip_changed:P-098:{run_key(T0)}"]  # welcomed once, never dropped
    assert privileges(ctx, "P-098")["lounge-access"] is True


def test_without_a_margin_the_same_vip_is_dropped_at_once(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    use_program(ctx, ("top_percent: 5", "top_percent: 2"),
                ("leave_margin_percent: 10", "leave_margin_percent: 0"))
    for i in range(99):
        add_member(ctx, f"P-{i:03d}", "platinum", bucket=i)
        add_spend(ctx, f"P-{i:03d}", f"{50000 + 100 * i}.00", T0 - timedelta(days=10))
    sweep(ctx, T0)
    assert vips(ctx) == {"P-098": T0, "P-097": T0}  # the top 2 of 99
    add_spend(ctx, "P-096", "300.00", LATER - timedelta(days=1))  # 59,900: now second
    (counts,) = sweep(ctx, LATER)
    assert vips(ctx) == {"P-098": T0, "P-096": LATER}
    assert (counts["joined"], counts["left"], counts["events"]) == (1, 1, 2)


def test_a_vip_more_than_the_margin_below_leaves(ctx: ServiceContext, pyramid: None) -> None:
    sweep(ctx, T0)
    for i in (0, 1):  # 80,000 and 80,100: the second by rank is 80,100, min_value 80,000
        add_spend(ctx, f"P-{i:03d}", "30000.00", LATER - timedelta(days=1))
    add_spend(ctx, "P-098", "12000.00", LATER - timedelta(days=1))  # 71,800: 10.25% below
    sweep(ctx, LATER)
    assert "P-098" not in vips(ctx)
    add_spend(ctx, "P-098", "200.00", LATER)  # 72,000: exactly 10% below, but not VIP now
    sweep(ctx, LATER + timedelta(days=1))
    assert "P-098" not in vips(ctx)  # joining takes the full threshold
