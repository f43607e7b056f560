"""Instants that policies derive: expiry dates, and ISO formatting for response bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta

from loyalty.domain.policy import PointsPolicy


def expiry_for(policy: PointsPolicy, earned_at: datetime) -> datetime | None:
    """When points earned at `earned_at` expire under `policy` (None: they never do)."""
    if policy.expiry == "never":
        return None
    later = earned_at + relativedelta(months=policy.expiry_months)
    if policy.expiry == "end_of_month":
        first_of_next = (later.replace(day=1) + relativedelta(months=1)).date()
        return datetime.combine(first_of_next, time.min, tzinfo=earned_at.tzinfo or UTC)
    return later


def iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()
