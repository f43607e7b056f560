"""A reference evaluator of the rule language (rules/README.md), for the differential test.

It reads rules as the plain dictionaries a rule file holds and works out every fact from the
raw snapshot itself; it shares nothing with the engine but the domain's effect classes. Words
compare without regard to case; an event attribute is read as the type its event declares, and
is unknown when the event does not declare it or it is not of that type.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from math import floor
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
from loyalty.domain.model import EvaluationInput, Line, Occurrence

#: Per event type, each declared attribute's type and the words it may be (program.yaml).
Declared = Mapping[str, Mapping[str, tuple[str, tuple[str, ...]]]]

DEFAULT_PRIORITY = 100
#: How a rule compares an event attribute of each declared type.
DECLARED_KINDS = {"number": "number", "money": "number", "word": "text", "yes/no": "yes/no",
                  "date": "date", "list": "list"}
DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]+([.][0-9]+)?$")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ATTRIBUTE_PREFIXES = ("event.attributes.", "member.attributes.")
ORDER_OPS = ("above", "at_least", "below", "at_most", "between")
FACT_TYPES: dict[str, str] = {
    "event.type": "text",
    "event.total": "number",
    "event.store": "text",
    "event.channel": "text",
    "event.date": "date",
    "event.weekday": "weekday",
    "event.month": "number",
    "event.hour": "number",
    "event.payment_methods": "list",
    "offers.presented": "list",
    "vouchers.presented": "list",
    "member.tier": "text",
    "member.vip": "yes/no",
    "member.lifecycle_stage": "text",
    "member.clv": "number",
    "member.potential_value": "number",
    "member.value_segment": "text",
    "member.age": "number",
    "member.birthday_month": "number",
    "member.birthday_day": "number",
    "member.region": "text",
    "member.gender": "text",
    "member.channel": "text",
    "member.tenure_days": "number",
    "member.tags": "list",
    "stats.spend_30d": "number",
    "stats.spend_90d": "number",
    "stats.spend_365d": "number",
    "stats.visits_30d": "number",
    "stats.visits_90d": "number",
    "stats.visits_365d": "number",
    "stats.lifetime_spend": "number",
    "stats.lifetime_visits": "number",
    "stats.days_since_last_purchase": "number",
    "stats.categories_bought": "list",
    "stats.points_available": "number",
    "line.sku": "text",
    "line.category": "text",
    "line.quantity": "number",
    "line.amount": "number",
    "products.owned": "list",
    "products.in_warranty": "list",
}
#: `events.<type>.<measure>`: how often the member had events of a type, and how long ago.
HISTORY_MEASURES = ("count_30d", "count_90d", "count_365d", "count_lifetime", "days_since_last")


@dataclass(frozen=True)
class RuleFile:
    """One ruleset file as data: its file name, ruleset name, events and rules."""

    name: str
    ruleset: str
    events: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]

    def document(self) -> dict[str, Any]:
        return {"ruleset": self.ruleset, "on": list(self.events), "rules": list(self.rules)}


@dataclass(frozen=True)
class Expected:
    """One decision the language says an evaluation takes."""

    rule_id: str
    ruleset: str
    effect_name: str
    effect: Effect
    matched_lines: tuple[int, ...]
    reason: str
    priority: int
    campaign: str | None
    limit: Limit | None


@dataclass
class Outcomes:
    """How often each fact and each test came out true or false, to prove the data is broad."""

    tests: Counter[tuple[str, str, bool]] = field(default_factory=Counter)

    def record(self, path: str, op: str, result: bool) -> None:
        self.tests[(path, op, result)] += 1

    def facts_seen(self, result: bool) -> set[str]:
        return {path for path, _, outcome in self.tests if outcome is result}

    def operators_seen(self, result: bool) -> set[str]:
        return {op for _, op, outcome in self.tests if outcome is result}


def _age(born: date, on: date) -> int:
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years


def read_declared(kind: str, words: tuple[str, ...], raw: Any) -> Any:
    """An attribute as its declared type, or None when it is not of that type."""
    if raw is None:
        return None
    if kind in ("number", "money"):
        text = str(raw).strip() if isinstance(raw, str) else None
        if isinstance(raw, bool) or not (isinstance(raw, int | float | Decimal) or text):
            return None
        if text is not None and not DECIMAL_TEXT.match(text):
            return None
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            return None
        exponent = number.as_tuple().exponent
        if kind == "money" and (number < 0 or (isinstance(exponent, int) and exponent < -4)):
            return None
        return number
    if kind == "yes/no":
        return raw if isinstance(raw, bool) else None
    if kind == "date":
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        try:
            if isinstance(raw, str) and len(raw) == 10:
                return date.fromisoformat(raw)
            return datetime.fromisoformat(raw).date() if isinstance(raw, str) else None
        except ValueError:
            return None
    if kind == "list":
        if not isinstance(raw, list | tuple) or not all(_is_word(item) for item in raw):
            return None
        return tuple(item.casefold() for item in raw)
    if not _is_word(raw) or (words and raw.casefold() not in words):
        return None
    return raw.casefold()


def _is_word(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _months_later(day: date, months: int) -> date:
    """The same day of the month `months` later, or the last day of a shorter month."""
    year = day.year + (day.month - 1 + months) // 12
    month = (day.month - 1 + months) % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("no such month")


def history_facts(data: EvaluationInput, event_types: tuple[str, ...]) -> dict[str, Any]:
    """`events.<type>.*` of each type: the snapshot's history, or none at all."""
    facts: dict[str, Any] = {}
    for kind in event_types:
        history = data.stats.events.get(kind)
        for measure in HISTORY_MEASURES:
            value = getattr(history, measure) if history is not None else None
            if value is None and measure != "days_since_last":
                value = 0
            facts[f"events.{kind}.{measure}"] = value
    return facts


def product_facts(data: EvaluationInput, warranties: Mapping[str, int]) -> dict[str, Any]:
    """`products.owned` and `products.in_warranty` from what the member holds, a warranty
    (months, by product code in any case) running from the purchase day to the day before
    the same date that many months later, days read in the event's offset."""
    at = data.occurrence.occurred_at
    owned: list[str] = []
    covered: list[str] = []
    for held in data.stats.products:
        if held.quantity < 1:
            continue
        owned += [held.sku, held.category]
        months = warranties.get(held.sku.casefold(), 0)
        bought = held.bought_at.astimezone(at.tzinfo).date()
        if months and bought <= at.date() < _months_later(bought, months):
            covered += [held.sku, held.category]
    return {"products.owned": tuple(owned), "products.in_warranty": tuple(covered)}


def snapshot_facts(data: EvaluationInput, declared: Declared) -> dict[str, Any]:
    """Every event, member and stats fact of a snapshot by path; None when unknown."""
    occ, member, stats = data.occurrence, data.member, data.stats
    local = occ.occurred_at
    day = local.date()
    born = member.birth_date
    joined = member.enrolled_at
    facts: dict[str, Any] = {
        "event.type": occ.kind,
        "event.total": occ.total,
        "event.store": occ.store_id,
        "event.channel": occ.channel,
        "event.date": day,
        "event.weekday": DAY_NAMES[day.isoweekday() - 1],
        "event.month": day.month,
        "event.hour": local.hour,
        "event.payment_methods": tuple(occ.payment_methods),
        "offers.presented": tuple(occ.offer_codes),
        "vouchers.presented": tuple(occ.voucher_rewards),
        "member.tier": member.tier,
        "member.vip": member.vip,
        "member.lifecycle_stage": member.lifecycle_stage,
        "member.clv": member.clv,
        "member.potential_value": member.potential_value,
        "member.value_segment": member.value_segment,
        "member.age": None if born is None else _age(born, day),
        "member.birthday_month": None if born is None else born.month,
        "member.birthday_day": None if born is None else born.day,
        "member.region": member.region,
        "member.gender": member.gender,
        "member.channel": member.channel,
        "member.tenure_days": None if joined is None else (day - joined.date()).days,
        "member.tags": tuple(member.tags),
        "stats.spend_30d": stats.spend_30d,
        "stats.spend_90d": stats.spend_90d,
        "stats.spend_365d": stats.spend_365d,
        "stats.visits_30d": stats.visits_30d,
        "stats.visits_90d": stats.visits_90d,
        "stats.visits_365d": stats.visits_365d,
        "stats.lifetime_spend": stats.lifetime_spend,
        "stats.lifetime_visits": stats.lifetime_visits,
        "stats.days_since_last_purchase": stats.days_since_last_purchase,
        "stats.categories_bought": tuple(stats.categories_bought),
        "stats.points_available": stats.points_available,
    }
    facts.update({f"stats.{name}": figure for name, figure in stats.metrics.items()})
    attributes = declared.get(occ.kind, {})
    for name, raw in occ.attributes.items():
        if name in attributes:
            facts[f"event.attributes.{name}"] = read_declared(*attributes[name], raw)
    facts.update({f"member.attributes.{k}": v for k, v in member.attributes.items()})
    return facts


def line_facts(line: Line) -> dict[str, Any]:
    """The facts of one purchase line."""
    return {
        "line.sku": line.sku,
        "line.category": line.category,
        "line.quantity": line.quantity,
        "line.amount": line.unit_price * line.quantity,
    }


def _word(value: Any) -> str | None:
    """An attribute (or operand) as the word text tests compare; None for no single value."""
    if value is None or isinstance(value, list | dict | tuple):
        return None
    if value is True or value is False:
        return "true" if value else "false"
    return str(value).casefold()


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(str(value))


def _attribute_view(op: str, operand: Any, actual: Any) -> tuple[str, Any]:
    """Free attributes compare as numbers when the rule writes a number, as words otherwise."""
    if op == "exists":
        return "word", _word(actual)
    sample = operand[0] if isinstance(operand, list) else operand
    if op in ORDER_OPS or _number(sample) is not None:
        return "number", _number(actual)
    return "word", _word(actual)


def _operand(kind: str, raw: Any) -> Any:
    if kind == "number":
        return Decimal(str(raw))
    if kind == "weekday":
        return str(raw).lower()
    if kind == "word":
        return _word(raw)
    if kind in ("text", "list"):
        return str(raw).casefold()
    return raw


def _compare(kind: str, op: str, actual: Any, raw: Any) -> bool:
    if op == "exists":
        return (actual is not None) is raw
    if actual is None:
        return False
    if kind == "number":
        actual = Decimal(actual)
    if kind == "text":
        actual = str(actual).casefold()
    if op in ("in", "not_in"):
        found = actual in [_operand(kind, item) for item in raw]
        return found if op == "in" else not found
    if op == "between":
        return bool(_operand(kind, raw[0]) <= actual <= _operand(kind, raw[1]))
    value = _operand(kind, raw)
    results = {
        "is": lambda: actual == value,
        "is_not": lambda: actual != value,
        "above": lambda: actual > value,
        "at_least": lambda: actual >= value,
        "below": lambda: actual < value,
        "at_most": lambda: actual <= value,
        "contains": lambda: value in [str(item).casefold() for item in actual],
        "starts_with": lambda: str(actual).startswith(value),
    }
    return bool(results[op]())


@dataclass(frozen=True)
class Scope:
    """What a condition is judged on: the facts, the lines, the line being tested, how each
    event attribute compares (by path), and the tally of outcomes."""

    facts: dict[str, Any]
    lines: list[dict[str, Any]]
    kinds: Mapping[str, str]
    seen: Outcomes | None = None


def holds(cond: Any, scope: Scope, line: dict[str, Any] | None = None) -> bool:
    """Whether a condition holds; every part is evaluated so `seen` records all of them."""
    if isinstance(cond, list):
        return all([holds(c, scope, line) for c in cond])
    (key,) = [k for k in cond if k != "fact"] if "fact" in cond else list(cond)
    if key in ("all", "any", "none"):
        results = [holds(c, scope, line) for c in cond[key]]
        return {"all": all(results), "any": any(results), "none": not any(results)}[key]
    if key in ("any_line", "all_lines"):
        matches = [holds(cond[key], scope, item) for item in scope.lines]
        return any(matches) if key == "any_line" else bool(matches) and all(matches)
    path = cond["fact"]
    actual = (line or {}).get(path) if path.startswith("line.") else scope.facts.get(path)
    seen = scope.seen
    if path in scope.kinds:
        kind = scope.kinds[path]
    elif path.startswith(ATTRIBUTE_PREFIXES):
        kind, actual = _attribute_view(key, cond[key], actual)
    elif path.startswith("events.") or (path not in FACT_TYPES and path.startswith("stats.")):
        kind = "number"  # an event's history, or a declared metric's figure
    else:
        kind = FACT_TYPES[path]
    result = _compare(kind, key, actual, cond[key])
    if seen is not None:
        seen.record(path, key, result)
    return result


def expected_effect(name: str, params: dict[str, Any]) -> Effect:
    """The effect a rule file's `name: params` means."""
    if name == "award_points":
        if "points" in params:
            return AwardPoints(fixed=params["points"])
        if "per_unit" in params:
            per_unit = Decimal(str(params["per_unit"]))
            return AwardPoints(per_unit=per_unit, lines_only="on_lines" in params)
        rate = Decimal(str(params["per_currency_unit"]))
        return AwardPoints(rate=rate, lines_only="on_lines" in params)
    if name == "multiply_points":
        of = params.get("of", [])
        return MultiplyPoints(
            Decimal(str(params["by"])), tuple([of] if isinstance(of, str) else of),
            lines_only="on_lines" in params,
        )
    if name == "grant_reward":
        return GrantReward(params["reward"], params.get("quantity", 1), params.get("valid_days"))
    if name == "issue_offer":
        return IssueOffer(
            params["offer"],
            params["benefit"],
            Decimal(str(params["value"])),
            params["valid_days"],
            params.get("description", ""),
        )
    if name == "grant_privilege":
        return GrantPrivilege(params["privilege"], params.get("valid_days"))
    if name == "revoke_privilege":
        return RevokePrivilege(params["privilege"])
    if name == "set_tier":
        return SetTier(params["tier"])
    if name == "add_tag":
        return AddTag(params["tag"])
    if name == "remove_tag":
        return RemoveTag(params["tag"])
    if name == "notify":
        return Notify(params["notification"], params.get("message", ""))
    raise ValueError(f"no such effect: {name}")


def line_tests(cond: Any, negated: bool = False) -> list[Any]:
    """The conditions on lines (of any_line / all_lines) a condition tests, except those an odd
    number of `none` groups turn around."""
    if cond is None:
        return []
    if isinstance(cond, list):
        return [test for item in cond for test in line_tests(item, negated)]
    if "fact" in cond:
        return []
    ((key, inner),) = cond.items()
    if key in ("any_line", "all_lines"):
        return [] if negated else [inner]
    return [test for item in inner for test in line_tests(item, negated != (key == "none"))]


def _limit(node: dict[str, Any] | None) -> Limit | None:
    if node is None:
        return None
    return Limit(node.get("times"), node.get("per", "ever"), node.get("budget_points"))


def expected_decisions(
    files: list[RuleFile], data: EvaluationInput, declared: Declared,
    seen: Outcomes | None = None, *, history: tuple[str, ...] = (),
    warranties: Mapping[str, int] | None = None,
) -> list[Expected]:
    """The decisions of every matching rule, in priority, file name, position, effect order;
    `history` names the event types whose history rules may test, `warranties` the months
    of warranty of each product code of the catalogue."""
    facts = snapshot_facts(data, declared)
    facts.update(history_facts(data, history))
    facts.update(product_facts(data, warranties or {}))
    lines = [line_facts(line) for line in data.occurrence.lines]
    kinds = {f"event.attributes.{name}": DECLARED_KINDS[kind]
             for attributes in declared.values() for name, (kind, _) in attributes.items()}
    scope = Scope(facts, lines, kinds, seen)
    day = facts["event.date"]
    reacting = [
        ((rule.get("priority", DEFAULT_PRIORITY), rule_file.name, position), rule_file, rule)
        for rule_file in files
        if data.occurrence.kind in rule_file.events
        for position, rule in enumerate(rule_file.rules)
    ]
    out: list[Expected] = []
    for (priority, _, _), rule_file, rule in sorted(reacting, key=lambda item: item[0]):
        when = rule.get("when")
        matches = when is None or holds(when, scope)
        if not matches or not rule.get("from", day) <= day <= rule.get("until", day):
            continue
        for effect in rule["then"]:
            ((name, params),) = effect.items()
            matched: tuple[int, ...] = ()
            if name in ("award_points", "multiply_points") and "on_lines" in params:
                matched = tuple(
                    index
                    for index, item in enumerate(lines)
                    if holds(params["on_lines"], scope, item)
                )
                if not matched:
                    continue
            elif name == "grant_reward":  # the lines the rule's line tests found
                tests = line_tests(when)
                matched = tuple(index for index, item in enumerate(lines)
                                if any(holds(test, Scope(facts, lines, kinds), item)
                                       for test in tests))
            out.append(
                Expected(
                    rule_id=rule["id"],
                    ruleset=rule_file.ruleset,
                    effect_name=name,
                    effect=expected_effect(name, params),
                    matched_lines=matched,
                    reason=rule["description"],
                    priority=priority,
                    campaign=rule.get("campaign"),
                    limit=_limit(rule.get("limit")),
                )
            )
    return out


# ---- points ------------------------------------------------------------------------------------


def _exact(value: Decimal | int) -> Fraction:
    return Fraction(str(value))


def _counted(decision: Expected, occurrence: Occurrence) -> set[int]:
    """The lines an award or a multiplier counts: those its rule matched with `on_lines`, or
    every line of the purchase."""
    effect = decision.effect
    assert isinstance(effect, AwardPoints | MultiplyPoints)
    return set(decision.matched_lines) if effect.lines_only else set(range(len(occurrence.lines)))


def _worth(effect: AwardPoints, lines: set[int], occurrence: Occurrence) -> Fraction:
    """An award per unit or per currency unit on some lines, before fractions are dropped."""
    chosen = [occurrence.lines[index] for index in lines]
    if effect.per_unit is not None:
        return _exact(effect.per_unit) * sum(line.quantity for line in chosen)
    assert effect.rate is not None
    return _exact(effect.rate) * sum(_exact(line.unit_price) * line.quantity for line in chosen)


def expected_points(decisions: list[Expected], occurrence: Occurrence) -> dict[int, int]:
    """The points of every award and multiplier (by index), in exact fractions, each dropping
    its fraction of a point: a fixed award its points; a rate the rate times the total (on
    lines: times the matching lines' amounts); per unit the units of its lines times the points
    per unit. A multiplier adds (by - 1) times the points of the awards it names (all when it
    names none); limited to lines, only those awards' shares of the lines both matched (never
    more than the award gave), and no fixed award. Nothing is ever below 0."""
    points: dict[int, int] = {}
    for index, decision in enumerate(decisions):
        effect = decision.effect
        if not isinstance(effect, AwardPoints):
            continue
        if effect.fixed is not None:
            value = effect.fixed
        elif effect.per_unit is None and not effect.lines_only:
            value = floor(_exact(effect.rate or 0) * _exact(occurrence.total))
        else:
            value = floor(_worth(effect, _counted(decision, occurrence), occurrence))
        points[index] = max(0, value)
    for index, decision in enumerate(decisions):
        effect = decision.effect
        if not isinstance(effect, MultiplyPoints):
            continue
        base = 0
        for other, award in enumerate(decisions):
            if not isinstance(award.effect, AwardPoints):
                continue
            if effect.rules and award.rule_id not in effect.rules:
                continue
            if not effect.lines_only:
                base += points[other]
            elif award.effect.fixed is None:
                both = _counted(award, occurrence) & set(decision.matched_lines)
                share = max(0, floor(_worth(award.effect, both, occurrence)))
                base += min(points[other], share)
        points[index] = max(0, floor(base * (_exact(effect.factor) - 1)))
    return points


def expected_unit_points(decisions: list[Expected], points: dict[int, int],
                         occurrence: Occurrence) -> dict[int, int]:
    """What each line (by index) earned for its units, for a return to take back per unit:
    the points per unit of every award per unit that gave points, times one plus (by - 1) of
    every multiplier that gave points and counts that award on that line; whole points only,
    lines with none left out."""
    earned: dict[int, Fraction] = {}
    for index, decision in enumerate(decisions):
        award = decision.effect
        if not isinstance(award, AwardPoints) or award.per_unit is None or not points[index]:
            continue
        for line in sorted(_counted(decision, occurrence)):
            factor = Fraction(1)
            for other, multiplier in enumerate(decisions):
                effect = multiplier.effect
                if not isinstance(effect, MultiplyPoints) or not points[other]:
                    continue
                if effect.rules and decision.rule_id not in effect.rules:
                    continue
                if effect.lines_only and line not in multiplier.matched_lines:
                    continue
                factor += max(Fraction(0), _exact(effect.factor) - 1)
            units = occurrence.lines[line].quantity
            earned[line] = earned.get(line, Fraction(0)) + _exact(award.per_unit) * units * factor
    return {line: floor(value) for line, value in sorted(earned.items()) if floor(value) > 0}
