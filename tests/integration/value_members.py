"""A programme's members with the purchase histories the value tests need, written straight into
the transaction history (what two years of tills would have left)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from tests.integration.test_sweep_tiers import add_member

#: The instant the tests value members at.
AS_OF = datetime(2026, 11, 20, 6, tzinfo=UTC)
#: How often the programme's regular members buy (days between purchases) and how much.
INTERVALS = (7, 15, 30, 60, 120, 180)
AMOUNTS = ("150.00", "300.00", "600.00", "1200.00")


def buys(ctx: ServiceContext, member_id: str, amount: str, days_ago: list[float],
         at: datetime = AS_OF) -> None:
    """Purchases of `amount`, each `days_ago` before `at`, in the transaction history only."""
    with ctx.uow() as uow:
        uow.connection.execute(insert(t.transactions), [{
            "transaction_id": f"T-{member_id}-{n}", "member_id": member_id, "type": "purchase",
            "occurred_at": at - timedelta(days=days), "recorded_at": at,
            "total": Decimal(amount), "points_earned": 0, "points_clawed_back": 0,
            "returned_total": Decimal("0")} for n, days in enumerate(days_ago)])
        uow.commit()


def regulars(ctx: ServiceContext, count: int = 40) -> None:
    """`count` members of two years (REG-00 ...), each buying every 7 to 180 days for 150 to
    1,200, in a spread of pairings."""
    for i in range(count):
        member_id = f"REG-{i:02d}"
        add_member(ctx, member_id, "member", bucket=i)
        every = INTERVALS[i % len(INTERVALS)]
        buys(ctx, member_id, AMOUNTS[(i // len(INTERVALS)) % len(AMOUNTS)],
             [(i % 5) + every * k for k in range(730 // every)])
