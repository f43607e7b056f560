"""Rule limits: how often a rule may apply to one member, and campaign budgets in points.

The decision path (`services/decide.py`) applies them; this module names their keys and caps.

A budget belongs to the rule's campaign when it has one (every rule of the campaign, and the
offers it issued, spend from it), else to the rule alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from loyalty.domain.decisions import Decision, Limit, Period
from loyalty.domain.effects import resolve_points
from loyalty.domain.model import Occurrence

log = logging.getLogger(__name__)

#: The most points one decision may award. Amounts are capped at the edge (a purchase totals at
#: most 1,000,000,000), so only a runaway rate or multiplier in a rule file reaches this; it
#: keeps every balance far inside a 64-bit integer.
MAX_AWARD = 10**15


def capped_points(decisions: Sequence[Decision], occurrence: Occurrence) -> dict[int, int]:
    """The points of each award (by index), none above `MAX_AWARD`."""
    points = resolve_points(decisions, occurrence)
    for index, value in points.items():
        if value > MAX_AWARD:
            log.warning("rule %s would award %d points for %s; capped at %d",
                        decisions[index].rule_id, value, occurrence.source_id, MAX_AWARD)
            points[index] = MAX_AWARD
    return points


def period_key(period: Period, occurrence: Occurrence) -> str:
    day = occurrence.occurred_at.date()
    return {"ever": "ever", "day": day.isoformat(), "month": day.strftime("%Y-%m"),
            "year": str(day.year)}[period]


def budget_key(campaign: str | None, rule_id: str | None) -> str:
    """Where a budget's spending is counted: the campaign, or the rule without one."""
    return f"campaign:{campaign}" if campaign else str(rule_id)


def limit_phrase(limit: Limit) -> str:
    """How often a limited rule may apply, in words: "1 time per member per year"."""
    per = "member" if limit.period == "ever" else f"member per {limit.period}"
    return f"{limit.times} time{'s' if limit.times != 1 else ''} per {per}"

