"""The sweep: points over time, lifecycle and birthdays, idempotent, resumable, sharded, and
correct while tills keep posting."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.base import Batch, Sweep
from loyalty.services.sweep.calendar import CalendarPhase
from loyalty.services.sweep.lifecycle import LifecyclePhase
from loyalty.services.sweep.points import PointsPhase
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork
from tests.integration.helpers import T0, enrol, points, purchase

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
        offers = Counter(uow.connection.execute(select(t.offers.c.member_id)).scalars())
    assert stages["M-0000"] == "declining"  # bought 70 days before
    assert stages["M-0006"] == "lapsed"  # bought 130 days before
    assert all(count == 1 for count in offers.values()) and offers


class Interrupting(PointsPhase):
    """Fails after its first batch, as a killed process would."""

    def __init__(self) -> None:
        self.batches = 0

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        self.batches += 1
        if self.batches == 2:
            raise KeyboardInterrupt
        return super().run_batch(sweep, uow, batch)


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
    assert sum(r["phases"]["points"]["members"] for r in reports) == len(members)
    assert all(r["phases"]["points"]["members"] > 0 for r in reports)
    assert sum(r["phases"]["points"].get("lots_activated", 0) for r in reports) == len(members)


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


def test_sweep_while_tills_post_purchases_loses_nothing(
    ctx: ServiceContext, members: list[str]
) -> None:
    as_of = T0 + timedelta(days=15)
    errors: list[BaseException] = []

    def till(n: int) -> None:
        try:
            for i in range(6):
                purchase(ctx, f"C-{n}-{i}", [MUG], member_id=members[(n + i) % len(members)],
                         at=as_of + timedelta(minutes=i))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=till, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    run_sweep(ctx, as_of, phases=OWN_PHASES, batch_size=2)
    for thread in threads:
        thread.join()
    assert errors == []
    assert verify_ledger(ctx) == []
    with ctx.uow(read_only=True) as uow:
        concurrent = uow.connection.execute(select(func.count()).where(
            t.transactions.c.transaction_id.like("C-%"))).scalar_one()
        lots = uow.connection.execute(select(func.count()).where(
            t.point_lots.c.source_id.like("C-%"))).scalar_one()
    assert concurrent == lots == 24
