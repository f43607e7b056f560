"""Reading `then:` effects and `limit:` from a rule; the fixed list of effects."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.domain.decisions import (
    AddTag,
    AwardPoints,
    Effect,
    GrantPrivilege,
    GrantReward,
    Holdout,
    IssueOffer,
    Limit,
    MultiplyPoints,
    Notify,
    RemoveTag,
    RevokePrivilege,
    SetTier,
)
from loyalty.domain.messages import ALL_CHANNELS
from loyalty.engine.limits import too_long
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.parse_conditions import parse_condition
from loyalty.engine.parse_templates import check_text
from loyalty.engine.problems import Reporter, did_you_mean
from loyalty.engine.syntax import Condition, EffectDef

EFFECT_PARAMS: dict[str, tuple[str, ...]] = {
    "award_points": ("points", "per_currency_unit", "per_unit", "on_lines"),
    "multiply_points": ("by", "of", "on_lines"),
    "grant_reward": ("reward", "quantity", "valid_days"),
    "issue_offer": ("offer", "benefit", "value", "valid_days", "description"),
    "grant_privilege": ("privilege", "valid_days"),
    "revoke_privilege": ("privilege",),
    "set_tier": ("tier",),
    "add_tag": ("tag",),
    "remove_tag": ("tag",),
    "notify": ("notification", "message", "template", "channels"),
}
PERIODS = ("ever", "day", "month", "year")
#: What an award gives: exactly one of these.
AMOUNTS = ("points", "per_currency_unit", "per_unit")


MAX_POINTS = 10_000_000
MAX_RATE = Decimal(1000)
MAX_PER_UNIT = Decimal(1_000_000)
MAX_MULTIPLIER = Decimal(100)
MAX_QUANTITY = 1000
MAX_VALID_DAYS = 36_500
MAX_TIMES = 1_000_000
MAX_BUDGET_POINTS = 1_000_000_000_000
MAX_HOLDOUT_PERCENT = 50
MAX_HOLDOUT_DAYS = 365


class _Params:
    """The settings of one effect (or limit), collecting every problem instead of the first."""

    def __init__(self, params: dict[str, Any], *, limits: bool = True) -> None:
        self.p = params
        self.limits = limits
        self.errors: list[tuple[str, str]] = []

    def bad(self, key: str, message: str) -> None:
        self.errors.append((key, message))

    def text(self, key: str, default: str | None = None, *, kind: str | None = None) -> str:
        """A word or code; with `kind`, no longer than a name of that kind may be."""
        value = self.p.get(key, default)
        if value is None:
            self.bad(key, f"'{key}' is required")
            return ""
        if (
            isinstance(value, bool)
            or not isinstance(value, str | int)
            or (value == "" and default is None)
        ):
            self.bad(key, f"'{key}' must be a word or code, got {value!r}")
            return ""
        long = too_long(kind, str(value)) if kind is not None and self.limits else None
        if long is not None:
            self.bad(key, long)
            return ""
        return str(value)

    def whole(self, key: str, default: int | None, minimum: int, maximum: int) -> int:
        value = self.p.get(key, default)
        if value is None:
            self.bad(key, f"'{key}' is required")
            return minimum
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not minimum <= value <= maximum
        ):
            self.bad(
                key,
                f"'{key}' must be a whole number from {minimum:,} to {maximum:,}, got {value!r}",
            )
            return minimum
        return value

    def optional(self, key: str, maximum: int) -> int | None:
        return self.whole(key, None, 1, maximum) if key in self.p else None

    def number(self, key: str, maximum: Decimal | int) -> Decimal:
        """A required number above 0 and at most `maximum`."""
        value = self.p.get(key)
        if value is None:
            self.bad(key, f"'{key}' is required")
            return Decimal(1)
        number = None
        if not isinstance(value, bool) and isinstance(value, int | float | Decimal):
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                number = None
        if number is None or not number.is_finite():
            self.bad(key, f"'{key}' must be a number, got {value!r}")
            return Decimal(1)
        if not 0 < number <= maximum:
            self.bad(key, f"'{key}' must be above 0 and at most {maximum:,}, got {value!r}")
            return Decimal(1)
        return number


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
    ok = True
    for key in params:
        if key not in EFFECT_PARAMS[name]:
            report.add(
                key_line(params, key, line),
                f"unknown setting '{key}' for {name}" + did_you_mean(key, EFFECT_PARAMS[name]),
            )
            ok = False
    p = _Params(params, limits=report.limits)
    built = _build(name, p, report, line)
    for key, message in p.errors:
        report.add(key_line(params, key, line), f"{name}: {message}")
    return built if ok and not p.errors else None


def _build(name: str, p: _Params, report: Reporter, line: int | None) -> EffectDef | None:
    effect: Effect
    if name == "award_points":
        return _award(p, report, line)
    if name == "multiply_points":
        of = p.p.get("of", [])
        if isinstance(of, str):
            of = [of]
        if not isinstance(of, list) or not all(isinstance(x, str) for x in of):
            p.bad("of", "'of' is a list of rule ids")
            of = []
        factor = p.number("by", MAX_MULTIPLIER)
        if "on_lines" not in p.p:
            return EffectDef(MultiplyPoints(factor, tuple(of)), None, line)
        cond = _line_condition(p, report, line)
        if cond is None:
            return None
        return EffectDef(MultiplyPoints(factor, tuple(of), lines_only=True), cond, line)
    elif name == "grant_reward":
        effect = GrantReward(
            p.text("reward"),
            p.whole("quantity", 1, 1, MAX_QUANTITY),
            p.optional("valid_days", MAX_VALID_DAYS),
        )
    elif name == "issue_offer":
        benefit = p.text("benefit")
        value: Decimal
        if benefit == "bonus_points":
            value = p.number("value", MAX_POINTS)
        elif benefit == "points_multiplier":
            value = p.number("value", MAX_MULTIPLIER)
        else:
            if benefit:
                p.bad("benefit", f"benefit is bonus_points or points_multiplier, not '{benefit}'")
            value = p.number("value", MAX_POINTS)
        effect = IssueOffer(
            p.text("offer", kind="offer"),
            benefit,  # type: ignore[arg-type]
            value,
            p.whole("valid_days", None, 1, MAX_VALID_DAYS),
            p.text("description", ""),
        )
    elif name == "grant_privilege":
        effect = GrantPrivilege(p.text("privilege", kind="privilege"),
                                p.optional("valid_days", MAX_VALID_DAYS))
    elif name == "revoke_privilege":
        effect = RevokePrivilege(p.text("privilege", kind="privilege"))
    elif name == "set_tier":
        effect = SetTier(p.text("tier"))
    elif name in ("add_tag", "remove_tag"):
        effect = AddTag(p.text("tag")) if name == "add_tag" else RemoveTag(p.text("tag"))
    else:
        return _notify(p, report, line)
    return EffectDef(effect, None, line)


def _notify(p: _Params, report: Reporter, line: int | None) -> EffectDef | None:
    """`notify`: an inline `message` or a `template` of templates.yaml, on `channels`."""
    notification = p.text("notification", kind="notification")
    message = p.text("message", "")
    template = p.text("template") if "template" in p.p else None
    if template is not None and "message" in p.p:
        p.bad("template", "give 'message' (the text itself) or 'template' (a name in "
                          "templates.yaml), not both")
    if message and not check_text(message, report, key_line(p.p, "message", line),
                                  "notify message"):
        return None
    channels = p.p.get("channels", [])
    if isinstance(channels, str):
        channels = [channels]
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        p.bad("channels", f"'channels' is a list of channels: {', '.join(ALL_CHANNELS)}")
        channels = []
    for channel in channels:
        if channel not in ALL_CHANNELS:
            p.bad("channels", f"unknown channel '{channel}' (channels: "
                              f"{', '.join(ALL_CHANNELS)})" + did_you_mean(channel, ALL_CHANNELS))
    if len(set(channels)) != len(channels):
        p.bad("channels", "a channel is listed twice")
    effect = Notify(notification, message, template, tuple(channels))
    return EffectDef(effect, None, line)


def _award(p: _Params, report: Reporter, line: int | None) -> EffectDef | None:
    given = [key for key in AMOUNTS if key in p.p]
    if len(given) != 1:
        p.bad(given[-1] if given else "points", "give one of points (a fixed number), "
              "per_currency_unit (a rate) or per_unit (points for every unit)")
        return None
    if "points" in p.p:
        if "on_lines" in p.p:
            p.bad("on_lines", "on_lines goes with per_currency_unit or per_unit, not a fixed "
                  "number of points")
        return EffectDef(AwardPoints(fixed=p.whole("points", None, 1, MAX_POINTS)), None, line)
    if "per_unit" in p.p:
        effect = AwardPoints(per_unit=p.number("per_unit", MAX_PER_UNIT))
    else:
        effect = AwardPoints(rate=p.number("per_currency_unit", MAX_RATE))
    if "on_lines" not in p.p:
        return EffectDef(effect, None, line)
    cond = _line_condition(p, report, line)
    if cond is None:
        return None
    return EffectDef(replace(effect, lines_only=True), cond, line)


def _line_condition(p: _Params, report: Reporter, line: int | None) -> Condition | None:
    """The `on_lines:` condition of an effect; None after reporting problems."""
    at = key_line(p.p, "on_lines", line)
    return parse_condition(p.p["on_lines"], report, at, in_lines=True)


def parse_limit(node: Any, report: Reporter, line: int | None) -> Limit | None:
    """Parse `limit: {times, per, budget_points}`; None after reporting problems."""
    if not isinstance(node, dict):
        report.add(line, "'limit' needs settings like {times: 1, per: year}")
        return None
    line = line_of(node, line)
    keys = ("times", "per", "budget_points")
    ok = True
    for key in node:
        if key not in keys:
            report.add(
                key_line(node, key, line),
                f"unknown setting '{key}' in limit" + did_you_mean(key, keys),
            )
            ok = False
    p = _Params(node)
    times = p.optional("times", MAX_TIMES)
    budget = p.optional("budget_points", MAX_BUDGET_POINTS)
    per = node.get("per", "ever")
    if per not in PERIODS:
        p.bad("per", f"'per' is one of {', '.join(PERIODS)}, not {per!r}")
    for key, message in p.errors:
        report.add(key_line(node, key, line), f"limit: {message}")
    if "times" not in node and "budget_points" not in node:
        report.add(line, "limit: give times and/or budget_points")
        return None
    if not ok or p.errors:
        return None
    return Limit(times=times, period=per, budget_points=budget)


def parse_holdout(node: Any, report: Reporter, line: int | None) -> Holdout | None:
    """Parse `holdout: {percent, within_days}`; None after reporting problems."""
    if not isinstance(node, dict):
        report.add(line, "'holdout' needs settings like {percent: 10, within_days: 60}")
        return None
    line = line_of(node, line)
    keys = ("percent", "within_days")
    ok = True
    for key in node:
        if key not in keys:
            report.add(key_line(node, key, line),
                       f"unknown setting '{key}' in holdout" + did_you_mean(key, keys))
            ok = False
    p = _Params(node)
    percent = p.whole("percent", None, 1, MAX_HOLDOUT_PERCENT)
    within_days = p.whole("within_days", None, 1, MAX_HOLDOUT_DAYS)
    for key, message in p.errors:
        report.add(key_line(node, key, line), f"holdout: {message}")
    if not ok or p.errors:
        return None
    return Holdout(percent=percent, within_days=within_days)
