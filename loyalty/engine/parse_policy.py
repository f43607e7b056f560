"""Reading program.yaml (points, tiers, lifecycle, VIP, channels, stores, events, activation) and
rewards.yaml (the catalogue)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain.policy import (
    DEFAULT_CHANNELS,
    LifecyclePolicy,
    PointsPolicy,
    ProgramPolicy,
    RewardDef,
    TierLadder,
    TierLevel,
    VipPolicy,
)
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.parse_effects import node_lines
from loyalty.engine.parse_values import VALUE_KEYS, parse_events, parse_words
from loyalty.engine.problems import Reporter, did_you_mean

METRICS = (
    "spend_30d",
    "spend_90d",
    "spend_365d",
    "lifetime_spend",
    "visits_30d",
    "visits_90d",
    "visits_365d",
    "lifetime_visits",
    "points_lifetime",
    "points_365d",
)
_SECTIONS: dict[str, dict[str, Any]] = {
    "points": {
        "pending_days": int,
        "expiry": ("never", "months_after_earning", "end_of_month", "extended_by_activity"),
        "expiry_months": int,
        "shortfall": ("debt", "floor"),
    },
    "tiers": {
        "metric": METRICS,
        "requalification": ("anniversary", "calendar_year"),
        "grace_days": int,
        "downgrade": ("one_step", "recalculate"),
        "notice_days": int,
        "levels": list,
    },
    "lifecycle": {
        "new_days": int,
        "declining_days": int,
        "lapsed_days": int,
        "churned_days": int,
        "visits_drop_percent": int,
        "visits_drop_min_365d": int,
    },
    "vip": {"metric": METRICS, "top_percent": Decimal, "min_value": Decimal, "tiers": list,
            "tags": list},
    "activation": {"approval": ("required", "not_required")},
}
PROGRAM_KEYS = ("currency", "point_value", *_SECTIONS, *VALUE_KEYS)
REWARD_KEYS = ("id", "name", "kind", "points_cost", "stock", "from", "until", "description")


def _point_value(doc: dict[str, Any], report: Reporter) -> Decimal | None:
    """What one point costs the business, in the programme currency (backtests price points
    with it); None when not declared."""
    raw = doc.get("point_value")
    if raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        value = Decimal("-1")
    if isinstance(raw, bool) or not value.is_finite() or value < 0:
        report.add(key_line(doc, "point_value"),
                   f"point_value is an amount of money per point, like 0.01, not {raw!r}")
        return None
    return value


def parse_program(doc: Any, report: Reporter) -> ProgramPolicy:
    """Build the programme policy from program.yaml, reporting every problem."""
    if doc is None:
        return ProgramPolicy()
    if not isinstance(doc, dict):
        report.add(line_of(doc, 1), "program.yaml holds currency, points, tiers, lifecycle, vip")
        return ProgramPolicy()
    for key in doc:
        if key not in PROGRAM_KEYS:
            report.add(key_line(doc, key), f"unknown key '{key}'" + did_you_mean(key, PROGRAM_KEYS))
    currency = doc.get("currency", "CNY")
    if not isinstance(currency, str) or len(currency) != 3:
        report.add(key_line(doc, "currency"), f"currency is a 3-letter code, not {currency!r}")
        currency = "CNY"
    point_value = _point_value(doc, report)
    sections = {
        name: _section(name, doc.get(name), report, key_line(doc, name)) for name in _SECTIONS
    }
    tiers = sections["tiers"]
    ladder = None
    if tiers:
        levels = _levels(tiers.pop("levels", None), report, key_line(doc.get("tiers"), "levels"))
        if levels:
            ladder = TierLadder(levels=levels, **{"metric": "spend_365d", **tiers})
    vip = sections["vip"]
    if "tiers" in vip:
        vip["tiers"] = tuple(str(t) for t in vip["tiers"])
        for tier in vip["tiers"]:
            if ladder is not None and ladder.rank(tier) < 0:
                report.add(key_line(doc.get("vip"), "tiers"), f"vip: unknown tier '{tier}'")
    if "tags" in vip:
        vip["tags"] = tuple(str(tag) for tag in vip["tags"])
    lifecycle = sections["lifecycle"]
    if lifecycle.get("visits_drop_percent", 0) > 100:
        report.add(key_line(doc.get("lifecycle"), "visits_drop_percent"),
                   "lifecycle.visits_drop_percent is a percentage from 0 to 100")
        lifecycle.pop("visits_drop_percent")
    return ProgramPolicy(
        currency=currency,
        point_value=point_value,
        points=PointsPolicy(**sections["points"]),
        tiers=ladder,
        lifecycle=LifecyclePolicy(**lifecycle),
        vip=VipPolicy(**vip),
        channels=parse_words(doc, "channels", report) or DEFAULT_CHANNELS,
        stores=parse_words(doc, "stores", report),
        events=parse_events(doc, report),
        declares_events="events" in doc,
        approval_required=sections["activation"].get("approval") == "required",
    )


def _section(name: str, node: Any, report: Reporter, line: int | None) -> dict[str, Any]:
    if node is None:
        return {}
    if not isinstance(node, dict):
        report.add(line, f"'{name}' needs its settings as a mapping")
        return {}
    spec = _SECTIONS[name]
    values: dict[str, Any] = {}
    for key, value in node.items():
        at = key_line(node, key, line)
        kind = spec.get(key)
        if kind is None:
            report.add(at, f"unknown setting '{key}' in {name}" + did_you_mean(key, spec))
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                report.add(at, f"{name}.{key} must be a whole number of at least 0, got {value!r}")
            else:
                values[key] = value
        elif kind is Decimal:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                report.add(at, f"{name}.{key} must be a number of at least 0, got {value!r}")
            else:
                values[key] = Decimal(str(value))
        elif kind is list:
            if not isinstance(value, list):
                report.add(at, f"{name}.{key} must be a list")
            else:
                values[key] = value
        elif value not in kind:
            report.add(
                at,
                f"{name}.{key} is one of {', '.join(kind)}, not {value!r}"
                + did_you_mean(str(value), kind),
            )
        else:
            values[key] = value
    return values


def _levels(node: Any, report: Reporter, line: int | None) -> tuple[TierLevel, ...]:
    if not isinstance(node, list) or not node:
        report.add(line, "tiers.levels lists the tiers from lowest to highest")
        return ()
    levels: list[TierLevel] = []
    for item, at in zip(node, node_lines(node, line), strict=True):
        if not isinstance(item, dict):
            report.add(at, "each tier level is {tier: ..., threshold: ..., description: ...}")
            continue
        for key in item:
            if key not in ("tier", "threshold", "description"):
                report.add(
                    key_line(item, key, at),
                    f"unknown setting '{key}' in a tier level"
                    + did_you_mean(key, ("tier", "threshold", "description")),
                )
        tier, threshold = item.get("tier"), item.get("threshold")
        if not isinstance(tier, str) or not tier:
            report.add(key_line(item, "tier", at), "each tier level needs a 'tier' name")
            continue
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold < 0:
            report.add(
                key_line(item, "threshold", at),
                f"tier '{tier}': threshold must be a number of at least 0",
            )
            continue
        value = Decimal(str(threshold))
        if any(level.tier == tier for level in levels):
            report.add(at, f"tier '{tier}' appears twice")
        elif levels and value <= levels[-1].threshold:
            report.add(
                key_line(item, "threshold", at),
                f"tier '{tier}': thresholds must rise from the lowest tier to the highest",
            )
        else:
            levels.append(TierLevel(tier, value, str(item.get("description", ""))))
    return tuple(levels)


def parse_rewards(doc: Any, report: Reporter) -> tuple[RewardDef, ...]:
    """Build the reward catalogue from rewards.yaml, reporting every problem."""
    if doc is None:
        return ()
    if not isinstance(doc, dict) or not isinstance(doc.get("rewards"), list):
        report.add(line_of(doc, 1), "rewards.yaml holds 'rewards:', a list of catalogue entries")
        return ()
    for key in doc:
        if key != "rewards":
            report.add(key_line(doc, key), f"unknown key '{key}'" + did_you_mean(key, ["rewards"]))
    rewards: list[RewardDef] = []
    node = doc["rewards"]
    for item, at in zip(node, node_lines(node, 1), strict=True):
        reward = _reward(item, report, at)
        if reward is None:
            continue
        if any(r.reward_id == reward.reward_id for r in rewards):
            report.add(at, f"duplicate reward id '{reward.reward_id}'")
        else:
            rewards.append(reward)
    return tuple(rewards)


def _reward(item: Any, report: Reporter, line: int | None) -> RewardDef | None:
    if not isinstance(item, dict):
        report.add(line, "each reward is a mapping starting with 'id:'")
        return None
    before = len(report.problems)
    for key in item:
        if key not in REWARD_KEYS:
            report.add(
                key_line(item, key, line), f"unknown key '{key}'" + did_you_mean(key, REWARD_KEYS)
            )
    reward_id, name = item.get("id"), item.get("name")
    if not isinstance(reward_id, str) or not reward_id:
        report.add(key_line(item, "id", line), "every reward needs an 'id'")
    if not isinstance(name, str) or not name:
        report.add(key_line(item, "name", line), "every reward needs a 'name'")
    numbers = {}
    for key in ("points_cost", "stock"):
        value = item.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            report.add(
                key_line(item, key, line),
                f"{key} must be a whole number of at least 0, got {value!r}",
            )
        numbers[key] = value
    dates = {}
    for key in ("from", "until"):
        value = item.get(key)
        if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
            report.add(
                key_line(item, key, line),
                f"bad date for '{key}': {value!r} (write it like 2026-12-24)",
            )
        dates[key] = value
    if len(report.problems) > before:
        return None
    return RewardDef(
        reward_id=str(reward_id),
        name=str(name),
        kind=str(item.get("kind", "product")),
        points_cost=numbers["points_cost"],
        stock=numbers["stock"],
        valid_from=dates["from"],
        valid_until=dates["until"],
        description=str(item.get("description", "")),
    )
