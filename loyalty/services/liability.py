"""What the points members hold are worth to the business: outstanding points by bucket and
their value, what expires soon, and how much of what was earned was redeemed. Two aggregate
statements over every member, whatever their number."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from loyalty.services.context import ServiceContext
from loyalty.services.timing import iso
from loyalty.store import tables as t

e = t.ledger_entries.c
lot = t.point_lots.c

BUCKETS = ("available", "pending", "debt")
#: The expiry windows, in days after `as_of`; each includes the shorter ones.
EXPIRY_WINDOWS = (30, 90, 365)
#: The window of the recent redemption rate, in days up to `as_of`.
RECENT_DAYS = 365


def _total(condition: Any, points: Any) -> Any:
    return func.coalesce(func.sum(case((condition, points), else_=0)), 0)


def _ledger_totals(as_of: datetime) -> Any:
    """Bucket balances, and points earned and redeemed (recently and ever), as of `as_of`."""
    since = as_of - timedelta(days=RECENT_DAYS)
    recent = e.occurred_at > since
    return select(
        *(_total(e.bucket == bucket, e.points).label(bucket) for bucket in BUCKETS),
        _total(e.kind == "earn", e.points).label("earned"),
        _total(and_(e.kind == "earn", recent), e.points).label("earned_recent"),
        _total(e.kind == "redeem", -e.points).label("redeemed"),
        _total(and_(e.kind == "redeem", recent), -e.points).label("redeemed_recent"),
    ).where(e.occurred_at <= as_of)


def _expiring(as_of: datetime) -> Any:
    """Points of open lots expiring within each window after `as_of`."""
    return select(*(
        _total(lot.expires_at <= as_of + timedelta(days=days), lot.remaining).label(f"d{days}")
        for days in EXPIRY_WINDOWS
    )).where(lot.state.in_(("available", "pending")), lot.remaining > 0,
             lot.expires_at > as_of,
             lot.expires_at <= as_of + timedelta(days=max(EXPIRY_WINDOWS)))


def _rate(redeemed: int, earned: int) -> float | None:
    return round(redeemed / earned, 4) if earned > 0 else None


def liability(ctx: ServiceContext, as_of: datetime | None = None) -> dict[str, Any]:
    """Outstanding points by bucket with their value at `point_value`, the points expiring in
    the next 30, 90 and 365 days, and the redemption rate over the last year and ever."""
    at = ctx.clock() if as_of is None else as_of
    policy = ctx.book(at).policy
    with ctx.uow(read_only=True) as uow:
        totals = uow.connection.execute(_ledger_totals(at)).one()._mapping
        soon = uow.connection.execute(_expiring(at)).one()._mapping
    point_value = policy.point_value

    def worth(points: int) -> dict[str, Any]:
        value = None if point_value is None else str(point_value * points)
        return {"points": points, "value": value}

    def redemption(earned: int, redeemed: int) -> dict[str, Any]:
        return {"earned": earned, "redeemed": redeemed, "rate": _rate(redeemed, earned)}

    outstanding = {bucket: worth(int(totals[bucket])) for bucket in BUCKETS}
    return {
        "as_of": iso(at), "currency": policy.currency,
        "point_value": None if point_value is None else str(point_value),
        "outstanding": outstanding,
        "expiring": [{"within_days": days, **worth(int(soon[f"d{days}"]))}
                     for days in EXPIRY_WINDOWS],
        "redemption": {
            f"last_{RECENT_DAYS}_days": redemption(int(totals["earned_recent"]),
                                                   int(totals["redeemed_recent"])),
            "lifetime": redemption(int(totals["earned"]), int(totals["redeemed"])),
        },
    }

