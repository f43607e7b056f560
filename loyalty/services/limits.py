"""Rule limits: how often a rule may apply to one member, and campaign budgets in points.

A budget belongs to the rule's campaign when it has one (every rule of the campaign, and the
offers it issued, spend from it), else to the rule alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from loyalty.domain.decisions import Decision, Period
from loyalty.domain.effects import resolve_points
from loyalty.domain.model import Occurrence
from loyalty.store.uow import SqlUnitOfWork

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


def apply_limits(uow: SqlUnitOfWork, member_id: str, decisions: Sequence[Decision],
                 occurrence: Occurrence) -> tuple[list[Decision], dict[int, int]]:
    """Drop decisions of rules that reached their limit; record the use of the others.

    Returns the decisions that apply and the points of each award (by index in that list).
    """
    counted = {d.rule_id: (period_key(d.limit.period, occurrence), d.limit.times)
               for d in decisions if d.limit is not None and d.limit.times is not None}
    keys = {rule: key for rule, (key, _) in counted.items()}
    usage = uow.programme.usage(member_id, list(keys.items()))
    blocked = {rule for rule, (key, times) in counted.items()
               if usage.get((rule, key), 0) >= times}
    kept = [d for d in decisions if d.rule_id not in blocked]
    points = capped_points(kept, occurrence)
    budgets: dict[str, int] = {}
    for d in kept:
        if d.limit is not None and d.limit.budget_points is not None:
            key = budget_key(d.campaign, d.rule_id)
            budgets[key] = min(budgets.get(key, d.limit.budget_points), d.limit.budget_points)
    if budgets:

        def wanted(key: str) -> int:
            return sum(points.get(i, 0) for i, d in enumerate(kept)
                       if budget_key(d.campaign, d.rule_id) == key)

        over = {key for key, budget in sorted(budgets.items())
                if uow.programme.lock_budget(key) + wanted(key) > budget}
        if over:
            kept = [d for d in kept if budget_key(d.campaign, d.rule_id) not in over]
            points = capped_points(kept, occurrence)
        for key in sorted(budgets.keys() - over):
            uow.programme.spend_budget(key, wanted(key))
    applied = {d.rule_id for d in kept}
    for rule, key in keys.items():
        if rule in applied:
            rule_points = sum(points.get(i, 0) for i, d in enumerate(kept) if d.rule_id == rule)
            uow.programme.add_usage(member_id, rule, key, rule_points,
                                    existing=(rule, key) in usage)
    return kept, points
