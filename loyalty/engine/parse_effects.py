"""Reading `then:` effects and `limit:` from a rule; the fixed list of effects."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.domain.decisions import (
    AddTag,
    AwardPoints,
    Effect,
    GrantPrivilege,
    GrantReward,
    IssueOffer,
    Limit,
    MultiplyPoints,
    Notify,
    RemoveTag,
    RevokePrivilege,
    SetTier,
)
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.parse_conditions import parse_condition
from loyalty.engine.problems import Reporter, did_you_mean
from loyalty.engine.syntax import EffectDef

EFFECT_PARAMS: dict[str, tuple[str, ...]] = {
    "award_points": ("points", "per_currency_unit", "on_lines"),
    "multiply_points": ("by", "of"),
    "grant_reward": ("reward", "quantity", "valid_days"),
    "issue_offer": ("offer", "benefit", "value", "valid_days", "description"),
    "grant_privilege": ("privilege", "valid_days"),
    "revoke_privilege": ("privilege",),
    "set_tier": ("tier",),
    "add_tag": ("tag",),
    "remove_tag": ("tag",),
    "notify": ("notification", "message"),
}
PERIODS = ("ever", "day", "month", "year")


class _Bad(Exception):
    """A parameter with a wrong or missing value."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def parse_effects(node: Any, report: Reporter, line: int | None) -> list[EffectDef] | None:
    """Parse the `then:` list; None after reporting problems."""
    if not isinstance(node, list) or not node:
        report.add(line, "'then' needs a list of one or more effects")
        return None
    effects: list[EffectDef] = []
    ok = True
    for item, at in zip(node, node_lines(node, line), strict=True):
        parsed = _parse_effect(item, report, at)
        ok = ok and parsed is not None
        if parsed is not None:
            effects.append(parsed)
    return effects if ok else None


def node_lines(node: Any, line: int | None) -> list[int | None]:
    """The line of each item of a LineList (or `line` for each)."""
    return list(getattr(node, "item_lines", [line] * len(node)))


def _parse_effect(item: Any, report: Reporter, line: int | None) -> EffectDef | None:
    if not isinstance(item, dict) or len(item) != 1:
        report.add(
            line, "each effect is one name with its settings, like award_points: {points: 100}"
        )
        return None
    name = next(iter(item))
    params = item[name]
    line = key_line(item, name, line)
    if name not in EFFECT_PARAMS:
        report.add(line, f"unknown effect '{name}'" + did_you_mean(name, EFFECT_PARAMS))
        return None
    if not isinstance(params, dict):
        report.add(line, f"'{name}' needs its settings as a mapping")
        return None
    for key in params:
        if key not in EFFECT_PARAMS[name]:
            report.add(
                key_line(params, key, line),
                f"unknown setting '{key}' for {name}" + did_you_mean(key, EFFECT_PARAMS[name]),
            )
            return None
    try:
        return _build(name, params, report, line)
    except _Bad as error:
        report.add(key_line(params, error.key, line), f"{name}: {error}")
        return None


def _build(name: str, p: dict[str, Any], report: Reporter, line: int | None) -> EffectDef | None:
    effect: Effect
    if name == "award_points":
        return _award(p, report, line)
    if name == "multiply_points":
        of = p.get("of", [])
        if isinstance(of, str):
            of = [of]
        if not isinstance(of, list) or not all(isinstance(x, str) for x in of):
            raise _Bad("of", "'of' is a list of rule ids")
        effect = MultiplyPoints(_decimal(p, "by", required=True, positive=True), tuple(of))
    elif name == "grant_reward":
        effect = GrantReward(
            _text(p, "reward"), _int(p, "quantity", 1, 1), _opt_int(p, "valid_days")
        )
    elif name == "issue_offer":
        benefit = _text(p, "benefit")
        if benefit not in ("bonus_points", "points_multiplier"):
            raise _Bad("benefit", f"benefit is bonus_points or points_multiplier, not '{benefit}'")
        effect = IssueOffer(
            _text(p, "offer"),
            benefit,  # type: ignore[arg-type]
            _decimal(p, "value", required=True, positive=True),
            _int(p, "valid_days", None, 1),
            _text(p, "description", ""),
        )
    elif name == "grant_privilege":
        effect = GrantPrivilege(_text(p, "privilege"), _opt_int(p, "valid_days"))
    elif name == "revoke_privilege":
        effect = RevokePrivilege(_text(p, "privilege"))
    elif name == "set_tier":
        effect = SetTier(_text(p, "tier"))
    elif name in ("add_tag", "remove_tag"):
        effect = AddTag(_text(p, "tag")) if name == "add_tag" else RemoveTag(_text(p, "tag"))
    else:
        effect = Notify(_text(p, "notification"), _text(p, "message", ""))
    return EffectDef(effect, None, line)


def _award(p: dict[str, Any], report: Reporter, line: int | None) -> EffectDef | None:
    if ("points" in p) == ("per_currency_unit" in p):
        raise _Bad("points", "give either points (a fixed number) or per_currency_unit (a rate)")
    if "points" in p:
        if "on_lines" in p:
            raise _Bad(
                "on_lines", "on_lines goes with per_currency_unit, not a fixed number of points"
            )
        return EffectDef(AwardPoints(fixed=_int(p, "points", None, 1)), None, line)
    rate = _decimal(p, "per_currency_unit", required=True, positive=True)
    if "on_lines" not in p:
        return EffectDef(AwardPoints(rate=rate), None, line)
    cond = parse_condition(p["on_lines"], report, key_line(p, "on_lines", line), in_lines=True)
    if cond is None:
        return None
    return EffectDef(AwardPoints(rate=rate, lines_only=True), cond, line)


def _text(p: dict[str, Any], key: str, default: str | None = None) -> str:
    value = p.get(key, default)
    if value is None:
        raise _Bad(key, f"'{key}' is required")
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int)
        or (value == "" and default is None)
    ):
        raise _Bad(key, f"'{key}' must be a word or code, got {value!r}")
    return str(value)


def _int(p: dict[str, Any], key: str, default: int | None, minimum: int) -> int:
    value = p.get(key, default)
    if value is None:
        raise _Bad(key, f"'{key}' is required")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Bad(key, f"'{key}' must be a whole number of at least {minimum}, got {value!r}")
    return value


def _opt_int(p: dict[str, Any], key: str) -> int | None:
    return _int(p, key, None, 1) if key in p else None


def _decimal(p: dict[str, Any], key: str, required: bool, positive: bool) -> Decimal:
    value = p.get(key)
    if value is None and required:
        raise _Bad(key, f"'{key}' is required")
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise InvalidOperation
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise _Bad(key, f"'{key}' must be a number, got {value!r}") from error
    if positive and not number > 0:
        raise _Bad(key, f"'{key}' must be above 0, got {value!r}")
    return number


def parse_limit(node: Any, report: Reporter, line: int | None) -> Limit | None:
    """Parse `limit: {times, per, budget_points}`; None after reporting problems."""
    if not isinstance(node, dict):
        report.add(line, "'limit' needs settings like {times: 1, per: year}")
        return None
    line = line_of(node, line)
    keys = ("times", "per", "budget_points")
    for key in node:
        if key not in keys:
            report.add(
                key_line(node, key, line),
                f"unknown setting '{key}' in limit" + did_you_mean(key, keys),
            )
            return None
    try:
        times = _opt_int(node, "times")
        budget = _opt_int(node, "budget_points")
    except _Bad as error:
        report.add(key_line(node, error.key, line), f"limit: {error}")
        return None
    per = node.get("per", "ever")
    if per not in PERIODS:
        report.add(
            key_line(node, "per", line), f"limit: 'per' is one of {', '.join(PERIODS)}, not {per!r}"
        )
        return None
    if times is None and budget is None:
        report.add(line, "limit: give times and/or budget_points")
        return None
    return Limit(times=times, period=per, budget_points=budget)
