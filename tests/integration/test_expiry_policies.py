"""The expiry policies of program.yaml, as the sweep applies them: `end_of_month`,
`extended_by_activity` and `never`; what expires first is what expires soonest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from loyalty.services.context import ServiceContext
from loyalty.services.sweep import run_sweep
from loyalty.services.sweep.points import PointsPhase
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from tests.integration.helpers import CHINA, T0, enrol, points, purchase
from tests.integration.test_sweep_tiers import use_program

MUG = ("MUG", "homeware", 1, "100.00")


def left(ctx: ServiceContext, source_id: str) -> int:
    """Points still on the lot a purchase earned."""
    lots = t.point_lots.c
    with ctx.uow(read_only=True) as uow:
        value: int = uow.connection.execute(select(lots.remaining).where(
            lots.source_id == source_id)).scalar_one()
    return value


def sweep(ctx: ServiceContext, as_of: datetime) -> None:
    run_sweep(ctx, as_of, phases=[PointsPhase()])


def expiring_under(ctx: ServiceContext, policy: str) -> None:
    ctx.clock = lambda: T0
    use_program(ctx, ("expiry: months_after_earning", f"expiry: {policy}"))
    enrol(ctx)


def test_end_of_month_expires_a_month_s_points_together_at_the_month_end(
    ctx: ServiceContext,
) -> None:
    expiring_under(ctx, "end_of_month")
    purchase(ctx, "S-EARLY", [MUG], at=datetime(2026, 11, 3, 10, 0, tzinfo=CHINA))
    purchase(ctx, "S-LATE", [MUG], at=T0)
    purchase(ctx, "S-DEC", [MUG], at=datetime(2026, 12, 5, 10, 0, tzinfo=CHINA))
    month_end = datetime(2028, 12, 1, tzinfo=CHINA)  # 24 months on, at the end of the month
    sweep(ctx, month_end - timedelta(minutes=1))
    assert (left(ctx, "S-EARLY"), left(ctx, "S-LATE")) == (100, 100)
    sweep(ctx, month_end)
    assert (left(ctx, "S-EARLY"), left(ctx, "S-LATE"), left(ctx, "S-DEC")) == (0, 0, 100)
    # S-DEC's month ends where it was bought: 2029-01-01 00:00 at +08:00
    assert points(ctx, as_of=month_end)["next_expiry"] == {
        "points": 100, "expires_at": datetime(2029, 1, 1, tzinfo=CHINA).astimezone(UTC).isoformat()}
    assert verify_ledger(ctx) == []


def test_extended_by_activity_keeps_every_point_while_the_member_keeps_buying(
    ctx: ServiceContext,
) -> None:
    expiring_under(ctx, "extended_by_activity")
    purchase(ctx, "S-FIRST", [MUG], at=T0)
    again = T0 + relativedelta(months=20)
    purchase(ctx, "S-AGAIN", [MUG], at=again)
    sweep(ctx, T0 + relativedelta(months=25))  # months_after_earning would have expired it
    assert (left(ctx, "S-FIRST"), left(ctx, "S-AGAIN")) == (100, 100)
    sweep(ctx, again + relativedelta(months=24))  # 24 months after the last purchase
    assert (left(ctx, "S-FIRST"), left(ctx, "S-AGAIN")) == (0, 0)
    assert verify_ledger(ctx) == []


def test_never_keeps_points_for_ever(ctx: ServiceContext) -> None:
    expiring_under(ctx, "never")
    purchase(ctx, "S-ONCE", [MUG], at=T0)
    sweep(ctx, T0 + relativedelta(years=10))
    assert left(ctx, "S-ONCE") == 100
    assert points(ctx, as_of=T0 + relativedelta(years=10))["next_expiry"] is None


def test_months_after_earning_expires_the_soonest_lot_first(ctx: ServiceContext) -> None:
    expiring_under(ctx, "months_after_earning")
    purchase(ctx, "S-OLD", [MUG], at=T0)
    purchase(ctx, "S-NEW", [MUG], at=T0 + timedelta(days=30))
    sweep(ctx, T0 + relativedelta(months=24))
    assert (left(ctx, "S-OLD"), left(ctx, "S-NEW")) == (0, 100)
    assert verify_ledger(ctx) == []
