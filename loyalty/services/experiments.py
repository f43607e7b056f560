"""What a rule with a control group brings: the members who got it against those set aside.

For each rule with a holdout (and each setting of it: a changed percent or window is another
experiment), only decisions whose window has closed by `as_of` are counted; those still open
are shown apart, as `open`. A member returned when they bought at least once after the
decision and within the window; their spend is what those purchases cost (returns later are
not taken off). Each decision is one observation: a member decided for again a year later
counts again, with that decision's own window.

The intervals are normal-approximation 95% intervals of the difference offer minus control:
for the return rate, the Wald interval of two proportions; for the spend per member, Welch's
standard error (each group keeps its own variance). They say how sure the difference is only
when each group has some tens of members or more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from loyalty.domain.experiments import (
    CONFIDENCE,
    CONTROL,
    OFFER,
    Arm,
    rate_difference,
    spend_difference,
)
from loyalty.store import experiments as store
from loyalty.store.types import from_units

CENTS = Decimal("0.01")
NO_ONE = Arm(0, 0, Decimal(0), 0.0)


def _money(value: Decimal | float | None) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(CENTS))


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def group_view(arm: Arm, still_open: int) -> dict[str, Any]:
    """One group as the report shows it."""
    return {"members": arm.members, "returned": arm.returned,
            "return_rate": _rate(arm.return_rate), "spend": _money(arm.spend),
            "spend_per_member": _money(arm.spend_per_member), "open": still_open}


def uplift_view(offer: Arm, control: Arm) -> dict[str, Any]:
    """Offer minus control, with the 95% intervals (null where a group is too small)."""
    rate, spend = rate_difference(offer, control), spend_difference(offer, control)
    return {
        "return_rate": None if rate is None else _rate(rate.estimate),
        "return_rate_low": None if rate is None else _rate(rate.low),
        "return_rate_high": None if rate is None else _rate(rate.high),
        "spend_per_member": None if spend is None else _money(spend.estimate),
        "spend_per_member_low": None if spend is None else _money(spend.low),
        "spend_per_member_high": None if spend is None else _money(spend.high),
        "confidence": CONFIDENCE,
    }


def experiments(conn: Connection, as_of: datetime,
                point_value: Decimal | None) -> list[dict[str, Any]]:
    """Every experiment (a rule and its holdout setting) with a decision by `as_of`."""
    arms: dict[tuple[Any, ...], dict[str, Arm]] = {}
    for row in store.closed_groups(conn, as_of):
        arms.setdefault(tuple(row[:4]), {})[row.grp] = Arm(
            int(row.members), int(row.returned or 0), from_units(row.spend),
            float(row.spend_squares or 0))
    still_open: dict[tuple[Any, ...], dict[str, int]] = {}
    for row in store.open_groups(conn, as_of):
        still_open.setdefault(tuple(row[:4]), {})[row.grp] = int(row.members)
    costs = store.offer_costs(conn, as_of)
    found = []
    for key in sorted(arms.keys() | still_open.keys(), key=_order):
        rule_id, campaign, percent, within_days = key
        groups: Mapping[str, Arm] = arms.get(key, {})
        offer, control = groups.get(OFFER, NO_ONE), groups.get(CONTROL, NO_ONE)
        opened = still_open.get(key, {})
        used, points = costs.get(key, (0, 0))
        found.append({
            "rule_id": rule_id, "campaign": campaign, "percent": int(percent),
            "within_days": int(within_days),
            "offer": group_view(offer, opened.get(OFFER, 0)),
            "control": group_view(control, opened.get(CONTROL, 0)),
            "uplift": uplift_view(offer, control),
            "offers_used": used, "cost_points": points,
            "cost": None if point_value is None else _money(point_value * points),
        })
    return found


def _order(key: tuple[Any, ...]) -> tuple[str, str, int, int]:
    rule_id, campaign, percent, within_days = key
    return (str(rule_id), campaign or "", int(percent), int(within_days))
