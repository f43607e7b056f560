"""Reading program.yaml (points, tiers, lifecycle, VIP, channels, stores, events, activation) and
rewards.yaml (the catalogue)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from loyalty.domain.policy import (
    DEFAULT_CHANNELS,
    ImportantDatesPolicy,
    LifecyclePolicy,
    PointsPolicy,
    ProgramPolicy,
    ReferralPolicy,
    RewardDef,
    TierLadder,
    TierLevel,
    TransferPolicy,
    VipPolicy,
)
from loyalty.engine.limits import too_long
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.parse_effects import node_lines
from loyalty.engine.parse_metrics import parse_metrics
from loyalty.engine.parse_value_policy import value_policy
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
#: Metrics a section may use besides those (by section): VIPs may be ranked by members' lifetime
#: value, which the sweep works out just before (never a tier's: the till moves tiers).
SECTION_METRICS = {"vip": ("clv",)}
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
        "growing_days": int,
        "growing_history_days": int,
        "growing_percent": int,
        "growing_measure": ("spend", "visits"),
    },
    "vip": {"metric": METRICS, "top_percent": Decimal, "min_value": Decimal, "tiers": list,
            "tags": list, "leave_margin_percent": int},
    "value": {"current": ("spend", "margin"), "margin_percent": Decimal, "current_days": int,
              "horizon_days": int, "high_current_percent": Decimal,
              "high_potential_percent": Decimal, "segments": dict, "sample_size": int},
    "activation": {"approval": ("required", "not_required")},
    "important_dates": {"remind_days_before": int},
    "referrals": {"min_purchase": Decimal, "within_days": int},
    "transfers": {"allowed": bool, "min_points": int, "max_points": int, "max_per_month": int},
}
#: The range of every number program.yaml holds; beyond it a value is a mistake that would fail
#: at the till or in the sweep (a return window of a billion days is past the calendar's end).
RANGES: dict[str, tuple[int, int]] = {
    "points.pending_days": (0, 3_650),
    "points.expiry_months": (1, 1_200),
    "tiers.grace_days": (0, 3_650),
    "tiers.notice_days": (0, 3_650),
    "lifecycle.new_days": (0, 3_650),
    "lifecycle.declining_days": (1, 3_650),
    "lifecycle.lapsed_days": (1, 3_650),
    "lifecycle.churned_days": (1, 36_500),
    "lifecycle.visits_drop_percent": (0, 100),
    "lifecycle.visits_drop_min_365d": (0, 100_000),
    "lifecycle.growing_days": (1, 1_825),
    "lifecycle.growing_history_days": (1, 3_650),
    "lifecycle.growing_percent": (0, 1_000),
    "vip.top_percent": (0, 100),
    "vip.min_value": (0, 10**12),
    "vip.leave_margin_percent": (0, 99),  # 100: a VIP would never leave
    "value.margin_percent": (1, 100),
    "value.current_days": (1, 3_650),
    "value.horizon_days": (1, 3_650),
    "value.high_current_percent": (1, 99),  # 0 or 100: one of the two halves would be empty
    "value.high_potential_percent": (1, 99),
    "value.sample_size": (1_000, 1_000_000),
    "important_dates.remind_days_before": (0, 365),
    "referrals.within_days": (1, 3_650),
    "transfers.min_points": (1, 1_000_000_000),
    "transfers.max_points": (1, 1_000_000_000),
    "transfers.max_per_month": (1, 1_000),
}
#: The largest amount of money a threshold may name, and the most one point may be worth.
MAX_MONEY = 10**12
MAX_POINT_VALUE = 1_000
#: The most points a reward may cost, and the most of it there may be.
MAX_REWARD_COST = 1_000_000_000
MAX_STOCK = 1_000_000_000
PROGRAM_KEYS = ("programme", "currency", "point_value", *_SECTIONS, *VALUE_KEYS, "metrics")
#: What a tier level holds; `or` maps other metrics to thresholds that reach the tier too.
LEVEL_KEYS = ("tier", "threshold", "description", "or")
#: What `programme:` says about the programme, for people: its title and a description.
PROGRAMME_TEXTS = {"title": 120, "description": 2_000}


def finite_number(value: Any) -> Decimal | None:
    """A YAML number as a finite Decimal; None for anything else (text, yes/no, .nan, .inf)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() else None
REWARD_KEYS = ("id", "name", "kind", "points_cost", "stock", "from", "until", "description")


def _point_value(doc: dict[str, Any], report: Reporter) -> Decimal | None:
    """What one point costs the business, in the programme currency (backtests price points
    with it); None when not declared."""
    raw = doc.get("point_value")
    if raw is None:
        return None
    value = finite_number(raw)
    if value is None or not 0 <= value <= MAX_POINT_VALUE:
        report.add(key_line(doc, "point_value"),
                   "point_value is an amount of money per point from 0 to "
                   f"{MAX_POINT_VALUE:,}, like 0.01, not {raw!r}")
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
    _programme(doc.get("programme"), report, key_line(doc, "programme"))
    events = parse_events(doc, report)
    metrics = parse_metrics(doc, events, report, METRICS)
    names = (*METRICS, *(figure for metric in metrics for figure in metric.figures))
    sections = {
        name: _section(name, doc.get(name), report, key_line(doc, name), names)
        for name in _SECTIONS
    }
    tiers = sections["tiers"]
    ladder = None
    if tiers:
        levels = _levels(tiers.pop("levels", None), report, key_line(doc.get("tiers"), "levels"),
                         names, tiers.get("metric", "spend_365d"))
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
    return ProgramPolicy(
        currency=currency,
        point_value=point_value,
        points=PointsPolicy(**sections["points"]),
        tiers=ladder,
        lifecycle=LifecyclePolicy(**lifecycle),
        vip=VipPolicy(**vip),
        value=value_policy(sections["value"], doc.get("value"), report, key_line(doc, "value")),
        channels=parse_words(doc, "channels", report) or DEFAULT_CHANNELS,
        stores=parse_words(doc, "stores", report),
        events=events,
        declares_events="events" in doc,
        approval_required=sections["activation"].get("approval") == "required",
        metrics=metrics,
        important_dates=ImportantDatesPolicy(**sections["important_dates"]),
        referrals=ReferralPolicy(**sections["referrals"]),
        transfers=_transfers(sections["transfers"], report, key_line(doc, "transfers")),
    )


def _transfers(values: dict[str, Any], report: Reporter, line: int | None) -> TransferPolicy:
    """`transfers:`; a transfer's least points cannot be above its most."""
    low, high = values.get("min_points"), values.get("max_points")
    if low is not None and high is not None and low > high:
        report.add(line, f"transfers.min_points ({low:,}) is above transfers.max_points "
                         f"({high:,}): no transfer could be made")
        values = {k: v for k, v in values.items() if k != "min_points"}
    return TransferPolicy(**values)


def _programme(node: Any, report: Reporter, line: int | None) -> None:
    """`programme:` names the programme for people; only its title and description."""
    if node is None:
        return
    if not isinstance(node, dict):
        report.add(line, "'programme' holds a title and a description")
        return
    for key, value in node.items():
        at = key_line(node, key, line)
        longest = PROGRAMME_TEXTS.get(key)
        if longest is None:
            report.add(at, f"unknown setting '{key}' in programme"
                       + did_you_mean(str(key), PROGRAMME_TEXTS))
        elif not isinstance(value, str) or not 0 < len(value) <= longest:
            report.add(at, f"programme.{key} is text of 1 to {longest:,} characters")


def _section(name: str, node: Any, report: Reporter, line: int | None,
             metrics: tuple[str, ...] = METRICS) -> dict[str, Any]:
    """One section's settings; a `metric` is one of `metrics` (built-in and declared)."""
    if node is None:
        return {}
    if not isinstance(node, dict):
        report.add(line, f"'{name}' needs its settings as a mapping")
        return {}
    spec = _SECTIONS[name]
    values: dict[str, Any] = {}
    for key, value in node.items():
        at = key_line(node, key, line)
        kind = (*metrics, *SECTION_METRICS.get(name, ())) if spec.get(key) is METRICS \
            else spec.get(key)
        if kind is None:
            report.add(at, f"unknown setting '{key}' in {name}" + did_you_mean(key, spec))
        elif kind is int or kind is Decimal:
            low, high = RANGES.get(f"{name}.{key}", (0, MAX_MONEY))
            number = finite_number(value)
            whole = kind is int
            if number is None or (whole and not isinstance(value, int)) \
                    or not low <= number <= high:
                what = "a whole number" if whole else "a number"
                report.add(at, f"{name}.{key} must be {what} from {low:,} to {high:,}, "
                               f"got {value!r}")
            else:
                values[key] = value if whole else number
        elif kind is bool:
            if not isinstance(value, bool):
                report.add(at, f"{name}.{key} is true or false, not {value!r}")
            else:
                values[key] = value
        elif kind is list:
            if not isinstance(value, list):
                report.add(at, f"{name}.{key} must be a list")
            else:
                values[key] = value
        elif kind is dict:  # a mapping, read further by the section's own parser
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


def _levels(node: Any, report: Reporter, line: int | None, metrics: tuple[str, ...] = METRICS,
            metric: str = "spend_365d") -> tuple[TierLevel, ...]:
    """The tier levels; `metrics` are the names an `or:` may use besides the ladder's `metric`."""
    if not isinstance(node, list) or not node:
        report.add(line, "tiers.levels lists the tiers from lowest to highest")
        return ()
    levels: list[TierLevel] = []
    rising: dict[str, tuple[str, Decimal]] = {}
    for item, at in zip(node, node_lines(node, line), strict=True):
        if not isinstance(item, dict):
            report.add(at, "each tier level is {tier: ..., threshold: ..., description: ...}")
            continue
        for key in item:
            if key not in LEVEL_KEYS:
                report.add(
                    key_line(item, key, at),
                    f"unknown setting '{key}' in a tier level" + did_you_mean(key, LEVEL_KEYS),
                )
        tier, threshold = item.get("tier"), item.get("threshold")
        if not isinstance(tier, str) or not tier:
            report.add(key_line(item, "tier", at), "each tier level needs a 'tier' name")
            continue
        if report.limits and too_long("tier", tier):
            report.add(key_line(item, "tier", at), str(too_long("tier", tier)))
            continue
        value = finite_number(threshold)
        if value is None or not 0 <= value <= MAX_MONEY:
            report.add(
                key_line(item, "threshold", at),
                f"tier '{tier}': threshold must be a number from 0 to {MAX_MONEY:,}",
            )
            continue
        alternatives = _alternatives(tier, item, report, at, metrics, metric, rising,
                                     lowest=not levels)
        if any(level.tier == tier for level in levels):
            report.add(at, f"tier '{tier}' appears twice")
        elif levels and value <= levels[-1].threshold:
            report.add(
                key_line(item, "threshold", at),
                f"tier '{tier}': thresholds must rise from the lowest tier to the highest",
            )
        else:
            levels.append(TierLevel(tier, value, str(item.get("description", "")),
                                    alternatives))
    return tuple(levels)


def _alternatives(tier: str, item: dict[str, Any], report: Reporter, line: int | None,
                  metrics: tuple[str, ...], metric: str, rising: dict[str, tuple[str, Decimal]],
                  *, lowest: bool) -> tuple[tuple[str, Decimal], ...]:
    """A level's `or:` (other metrics and the thresholds reaching the tier by them), the good
    ones only after reporting the rest: the tier itself stays on the ladder, so rules naming it
    are not reported as naming a tier that does not exist. `rising` holds the last threshold
    seen for each metric: a higher tier must ask more of it."""
    if "or" not in item:
        return ()
    node, at = item["or"], key_line(item, "or", line)
    if lowest:
        report.add(at, f"tier '{tier}' is the lowest, every member's: 'or' cannot qualify "
                       "anyone for it")
        return ()
    if not isinstance(node, dict) or not node:
        report.add(at, f"tier '{tier}': 'or' maps other metrics to their thresholds, like "
                       "{stays_365d: 15}")
        return ()
    found: list[tuple[str, Decimal]] = []
    for name, threshold in node.items():
        name_at = key_line(node, name, at)
        value = finite_number(threshold)
        if name not in metrics:
            report.add(name_at, f"tier '{tier}': unknown metric '{name}' in 'or'"
                       + did_you_mean(str(name), metrics)
                       + "; declare your own under metrics: in program.yaml")
        elif name == metric:
            report.add(name_at, f"tier '{tier}': {name} is the ladder's own metric (tiers."
                                "metric); 'or' names other metrics")
        elif value is None or not 0 <= value <= MAX_MONEY:
            report.add(name_at, f"tier '{tier}': the threshold of {name} must be a number "
                                f"from 0 to {MAX_MONEY:,}")
        elif name in rising and value <= rising[name][1]:
            below, wanted = rising[name]
            report.add(name_at, f"tier '{tier}': {name} {value} does not rise above tier "
                                f"'{below}''s {wanted}: thresholds must rise from the lowest "
                                "tier to the highest")
        else:
            found.append((str(name), value))
    rising.update({name: (tier, value) for name, value in found})
    return tuple(found)


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
    elif report.limits and too_long("reward", reward_id):
        report.add(key_line(item, "id", line), str(too_long("reward", reward_id)))
    if not isinstance(name, str) or not name:
        report.add(key_line(item, "name", line), "every reward needs a 'name'")
    numbers = {}
    for key, high in (("points_cost", MAX_REWARD_COST), ("stock", MAX_STOCK)):
        value = item.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high
        ):
            report.add(
                key_line(item, key, line),
                f"{key} must be a whole number from 0 to {high:,}, got {value!r}",
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
