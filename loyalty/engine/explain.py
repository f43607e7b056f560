"""Plain-language explanation of the decisions a rule book took."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from loyalty.domain.decisions import (
    AddTag,
    AwardPoints,
    Decision,
    Effect,
    GrantPrivilege,
    GrantReward,
    IssueOffer,
    MultiplyPoints,
    Notify,
    RemoveTag,
    RevokePrivilege,
    SetTier,
)


def explain(
    decisions: Sequence[Decision],
    points: Mapping[int, int] | None = None,
    currency: str = "CNY",
) -> list[str]:
    """One plain-language line per decision: which rule fired, why, and its effect."""
    lines = []
    for index, decision in enumerate(decisions):
        computed = points.get(index) if points else None
        what = describe_effect(decision.effect, computed, currency)
        if decision.matched_lines:
            numbers = ", ".join(str(i + 1) for i in decision.matched_lines)
            what += f" (on line{'s' if len(decision.matched_lines) > 1 else ''} {numbers})"
        extra = f"; campaign {decision.campaign}" if decision.campaign else ""
        lines.append(
            f"{decision.rule_id} ({decision.ruleset}, version {decision.ruleset_version}) "
            f"fired: {what} — {decision.reason}{extra}"
        )
    return lines


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _plural(count: int | Decimal, word: str) -> str:
    return f"{_num(Decimal(count))} {word}{'' if count == 1 else 's'}"


def describe_effect(effect: Effect, points: int | None = None, currency: str = "CNY") -> str:
    """What one effect does, in plain words."""
    if isinstance(effect, AwardPoints):
        if effect.fixed is not None:
            return f"award {_plural(points if points is not None else effect.fixed, 'point')}"
        if effect.per_unit is not None:
            rate = f"{_plural(effect.per_unit, 'point')} per unit bought"
        else:
            rate = f"{_plural(effect.rate or Decimal(0), 'point')} per 1 {currency} spent"
        if effect.lines_only:
            rate += " on matching lines"
        return (
            f"award {_plural(points, 'point')} ({rate})" if points is not None else f"award {rate}"
        )
    if isinstance(effect, MultiplyPoints):
        of = ", ".join(effect.rules) if effect.rules else "all other awards"
        on = " on matching lines" if effect.lines_only else ""
        base = f"multiply the points of {of}{on} by {_num(effect.factor)}"
        return f"{base}: {_plural(points, 'extra point')}" if points is not None else base
    if isinstance(effect, GrantReward):
        valid = f", valid {_plural(effect.valid_days, 'day')}" if effect.valid_days else ""
        return f"give reward {effect.reward_id} x{effect.quantity}{valid}"
    if isinstance(effect, IssueOffer):
        if effect.benefit == "bonus_points":
            benefit = f"{_plural(effect.value, 'bonus point')} on the next purchase"
        else:
            benefit = f"points x{_num(effect.value)} on the next purchase"
        about = f" ({effect.description})" if effect.description else ""
        valid = _plural(effect.valid_days, "day")
        return f"issue offer {effect.offer_id}: {benefit}, valid {valid}{about}"
    if isinstance(effect, GrantPrivilege):
        valid = f" for {_plural(effect.valid_days, 'day')}" if effect.valid_days else ""
        return f"grant privilege {effect.privilege}{valid}"
    if isinstance(effect, RevokePrivilege):
        return f"withdraw privilege {effect.privilege}"
    if isinstance(effect, SetTier):
        return f"move the member to tier {effect.tier}"
    if isinstance(effect, AddTag):
        return f"tag the member '{effect.tag}'"
    if isinstance(effect, RemoveTag):
        return f"remove the tag '{effect.tag}'"
    if isinstance(effect, Notify):
        message = f": {effect.message}" if effect.message else ""
        if effect.template:
            message = f" from template {effect.template}"
        on = f" by {', '.join(effect.channels)}" if effect.channels else ""
        return f"send notification {effect.notification}{on}{message}"
    raise TypeError(f"unknown effect {effect!r}")
