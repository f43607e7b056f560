"""The sweep: points over time, lifecycle and birthdays, idempotent, resumable, sharded, and
correct while tills keep posting."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty.domain.commands import EnrolMember
from loyalty.services import members as members_service
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.calendar import CalendarPhase
from loyalty.services.sweep.lifecycle import LifecyclePhase
from loyalty.services.sweep.points import PointsPhase
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.integration.helpers import T0, Interrupting, enrol, give_back, points, purchase, redeem

FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
MUG = ("MUG", "homeware", 1, "100.00")
OWN_PHASES = [PointsPhase(), LifecyclePhase(), CalendarPhase()]


def snapshot(ctx: ServiceContext) -> dict[str, Any]:
    """Everything a sweep may change, to compare two states of the database."""
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        return {
            "entries": conn.execute(select(func.count()).select_from(t.ledger_entries))
            .scalar_one(),
            "members": sorted(tuple(r) for r in conn.execute(select(
                t.members.c.member_id, t.members.c.points_available, t.members.c.points_pending,
                t.members.c.lifecycle_stage, t.members.c.tier, t.members.c.vip))),
            "offers": conn.execute(select(func.count()).select_from(t.offers)).scalar_one(),
            "rewards": conn.execute(select(func.count()).select_from(t.member_rewards))
            .scalar_one(),
        }


@pytest.fixture
def members(ctx: ServiceContext) -> list[str]:
    ctx.clock = lambda: T0
    ids = [f"M-{i:04d}" for i in range(12)]
    for i, member_id in enumerate(ids):
        enrol(ctx, member_id)
        purchase(ctx, f"S-{member_id}", [FRIDGE if i % 2 else MUG], member_id=member_id,
                 at=T0 - timedelta(days=10 * i))
    return ids


def test_points_activate_after_the_return_window_and_the_rerun_changes_nothing(
    ctx: ServiceContext, members: list[str]
) -> None:
    as_of = T0 + timedelta(days=15)
    report = run_sweep(ctx, as_of, phases=OWN_PHASES, batch_size=5)
    assert report["phases"]["points"]["lots_activated"] == len(members)
    with ctx.uow(read_only=True) as uow:
        pending = uow.connection.execute(select(func.sum(t.members.c.points_pending))).scalar()
    assert pending == 0
    assert verify_ledger(ctx) == []
    before = snapshot(ctx)
    again = run_sweep(ctx, as_of, phases=OWN_PHASES, batch_size=5)
    assert again == report
    assert snapshot(ctx) == before


def test_expiry_takes_the_oldest_lots_first(ctx: ServiceContext, members: list[str]) -> None:
    purchase(ctx, "S-late", [MUG], member_id="M-0000", at=T0 + timedelta(days=30))
    run_sweep(ctx, T0 + timedelta(days=731), phases=[PointsPhase()])
    assert points(ctx, "M-0000", as_of=T0 + timedelta(days=731))["available"] == 100
    assert verify_ledger(ctx) == []


def test_lifecycle_moves_silent_members_and_issues_one_winback_offer(
    ctx: ServiceContext, members: list[str]
) -> None:
    run_sweep(ctx, T0 + timedelta(days=70), phases=OWN_PHASES)
    run_sweep(ctx, T0 + timedelta(days=71), phases=OWN_PHASES)
    with ctx.uow(read_only=True) as uow:
        stages = dict(uow.connection.execute(select(t.members.c.member_id,
                                                    t.members.c.lifecycle_stage)).all())
        offers = sorted(uow.connection.execute(select(t.offers.c.member_id,
                                                      t.offers.c.offer_code)).all())
    # M-000i bought 10 * i days before T0: 70 to 110 days of silence are declining, 120 and
    # more lapsed; each stage brings its own offer, once
    declining, lapsed = members[:5], members[5:]
    assert stages == {**dict.fromkeys(declining, "declining"), **dict.fromkeys(lapsed, "lapsed")}
    assert offers == [(m, "WINBACK-DOUBLE") for m in declining] + [
        (m, "WINBACK-500") for m in lapsed]


def test_an_interrupted_sweep_resumes_where_it_stopped(
    ctx: ServiceContext, members: list[str]
) -> None:
    as_of = T0 + timedelta(days=15)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(ctx, as_of, phases=[Interrupting()], batch_size=5)
    report = run_sweep(ctx, as_of, phases=[PointsPhase()], batch_size=5)
    assert report["phases"]["points"]["lots_activated"] == len(members)
    assert report["phases"]["points"]["members"] == len(members)
    assert verify_ledger(ctx) == []


def test_shards_together_cover_every_member_once(ctx: ServiceContext, members: list[str]) -> None:
    as_of = T0 + timedelta(days=15)
    reports = [run_sweep(ctx, as_of, shard=Shard(k, 3), phases=[PointsPhase()], batch_size=2)
               for k in (1, 2, 3)]
    # a member's shard is fixed by their id: crc32(member_id) % 1024 % 3
    assert [r["phases"]["points"]["members"] for r in reports] == [3, 4, 5]
    assert [r["phases"]["points"].get("lots_activated", 0) for r in reports] == [3, 4, 5]


def test_birthday_is_celebrated_once_even_when_a_day_is_skipped(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    from datetime import date

    enrol(ctx, "M-BDAY", birth_date=date(1990, 11, 22))
    run_sweep(ctx, T0 - timedelta(days=5), phases=[CalendarPhase()])
    run_sweep(ctx, T0 + timedelta(days=3), phases=[CalendarPhase()])  # covers the 22nd
    run_sweep(ctx, T0 + timedelta(days=4), phases=[CalendarPhase()])
    with ctx.uow(read_only=True) as uow:
        gifts = uow.connection.execute(select(t.member_rewards.c.reward_id).where(
            t.member_rewards.c.member_id == "M-BDAY")).scalars().all()
    assert gifts.count("BIRTHDAY-CAKE") == 1


def enrol_long_ago(ctx: ServiceContext, member_id: str) -> None:
    members_service.enrol(ctx, EnrolMember(member_id=member_id, name=member_id,
                                           email=f"{member_id.lower()}@example.com",
                                           enrolled_at=T0 - timedelta(days=800)))


def balances_match_entries(ctx: ServiceContext) -> list[str]:
    """Members whose stored balances differ from the sum of their ledger entries."""
    e = t.ledger_entries.c
    m = t.members.c
    with ctx.uow(read_only=True) as uow:
        sums = {(row.member_id, row.bucket): int(row.points) for row in uow.connection.execute(
            select(e.member_id, e.bucket, func.sum(e.points).label("points"))
            .group_by(e.member_id, e.bucket))}
        rows = uow.connection.execute(select(m.member_id, m.points_available,
                                             m.points_pending)).all()
    return [row.member_id for row in rows
            if (row.points_available, row.points_pending)
            != (sums.get((row.member_id, "available"), 0),
                sums.get((row.member_id, "pending"), 0))]


def test_sweep_while_tills_post_purchases_returns_and_redemptions_loses_nothing(
    ctx: ServiceContext,
) -> None:
    """Tills post purchases, returns and redemptions dated before the sweep's instant, from
    several threads, while the sweep activates and expires the same members' lots."""
    ctx.clock = lambda: T0
    as_of = T0 + timedelta(days=1)
    ids = [f"B-{i:02d}" for i in range(12)]
    for member_id in ids:
        enrol_long_ago(ctx, member_id)
        purchase(ctx, f"OLD-{member_id}", [MUG], member_id=member_id,
                 at=T0 - timedelta(days=731))  # expires before as_of
        purchase(ctx, f"RICH-{member_id}", [FRIDGE], member_id=member_id,
                 at=T0 - timedelta(days=60))  # pending until long before as_of
        purchase(ctx, f"MATURE-{member_id}", [("MUG", "homeware", 2, "100.00")],
                 member_id=member_id, at=T0 - timedelta(days=14, hours=-6))  # activates too
    with ctx.uow(read_only=True) as uow:
        lots = uow.connection.execute(select(t.point_lots.c.lot_id)).scalars().all()
        due = uow.connection.execute(select(t.point_lots.c.lot_id).where(
            t.point_lots.c.expires_at <= as_of)).scalars().all()  # welcome points and OLD-
    assert len(due) == 2 * len(ids)
    errors: list[BaseException] = []

    def till(n: int) -> None:
        try:
            for i, member_id in enumerate(ids[n::4]):
                at = T0 - timedelta(hours=6) + timedelta(minutes=10 * i + n)
                purchase(ctx, f"C-{member_id}", [MUG], member_id=member_id, at=at)
                give_back(ctx, f"R-{member_id}", f"MATURE-{member_id}", [("MUG", 1)],
                          member_id=member_id, at=at + timedelta(minutes=1))
                redeem(ctx, f"X-{member_id}", "CINEMA-PAIR", member_id=member_id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=till, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    report = run_sweep(ctx, as_of, batch_size=2)
    for thread in threads:
        thread.join()
    assert errors == []
    assert verify_ledger(ctx) == []
    assert balances_match_entries(ctx) == []
    e, lot = t.ledger_entries.c, t.point_lots.c
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection

        def count(table: Any, *where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(*where))
                       .scalar_one())

        assert count(t.transactions, t.transactions.c.transaction_id.like("C-%")) == len(ids)
        assert count(t.transactions, t.transactions.c.transaction_id.like("R-%")) == len(ids)
        assert count(t.member_rewards, t.member_rewards.c.reward_id == "CINEMA-PAIR") == len(ids)
        redeemed = conn.execute(select(e.source_id, func.sum(e.points)).where(
            e.kind == "redeem").group_by(e.source_id)).all()
        assert sorted(redeemed) == [(f"X-{member_id}", -1500) for member_id in ids]
        assert count(t.point_lots, lot.source_id.like("C-%")) == len(ids)
        assert count(t.point_lots) == len(lots) + len(ids)
        expired = conn.execute(select(e.lot_id).where(e.kind == "expire")).scalars().all()
        assert sorted(expired) == sorted(due)  # each lot due, exactly once
        assert count(t.point_lots, lot.remaining > 0, lot.expires_at <= as_of) == 0
        assert count(t.point_lots, lot.state == "pending", lot.remaining > 0,
                     lot.pending_until <= as_of) == 0
        activated = conn.execute(select(e.lot_id, func.count()).where(
            e.kind == "activate", e.bucket == "available").group_by(e.lot_id)).all()
        assert all(n == 1 for _, n in activated)
    before = snapshot(ctx)
    again = run_sweep(ctx, as_of, batch_size=2)
    assert again == report
    assert snapshot(ctx) == before


def test_the_same_instant_written_with_another_offset_is_the_same_run(
    ctx: ServiceContext, members: list[str]
) -> None:
    as_of = T0 + timedelta(days=15)  # written at +08:00
    report = run_sweep(ctx, as_of, phases=OWN_PHASES)
    before = snapshot(ctx)
    again = run_sweep(ctx, as_of.astimezone(UTC), phases=OWN_PHASES)
    assert again == report
    assert report["as_of"] == as_of.astimezone(UTC).isoformat()
    assert snapshot(ctx) == before
