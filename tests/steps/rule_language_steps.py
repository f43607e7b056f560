"""Steps for the rule language: marketing writes rules from tables, members buy, rules fire."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from loyalty.domain.decisions import Decision, GrantReward, IssueOffer
from loyalty.domain.effects import resolve_points
from loyalty.domain.errors import RulesInvalid
from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import Problem, build_rulebook, check_rules, read_rule_dir

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

_CONDITIONS: dict[str, Any] = {
    "always": None,
    "the day is saturday or sunday": [{"fact": "event.weekday", "in": ["saturday", "sunday"]}],
    "the member is not tagged staff": {"none": [{"fact": "member.tags", "contains": "staff"}]},
    "the purchase is 1000 CNY or more": [{"fact": "event.total", "at_least": 1000}],
}
_LIMITS: dict[str, Any] = {"once per member": {"times": 1, "per": "ever"}}
_OFFER = re.compile(r"^offer (\S+) of (\d+) bonus points for (\d+) days$")
_EXTRA_ON_LINES = re.compile(r"^(\d+) extra points? per 1 CNY on (\S+) lines$")
_FIXED = re.compile(r"^(\d+) points$")


def _effect(text: str) -> dict[str, Any]:
    if match := _EXTRA_ON_LINES.match(text):
        rate, category = match.groups()
        on_lines = {"fact": "line.category", "is": category}
        return {"award_points": {"per_currency_unit": int(rate), "on_lines": on_lines}}
    if match := _FIXED.match(text):
        return {"award_points": {"points": int(match.group(1))}}
    if match := _OFFER.match(text):
        offer, value, days = match.groups()
        return {"issue_offer": {"offer": offer, "benefit": "bonus_points", "value": int(value),
                                "valid_days": int(days)}}
    raise ValueError(f"no effect phrase for {text!r}")


@pytest.fixture
def rule_world() -> dict[str, Any]:
    return {"member": {}, "usage": {}}


@given("the standard programme rules", target_fixture="rule_files")
def standard_rules() -> dict[str, str]:
    return read_rule_dir(RULES_DIR)


@given(parsers.parse("marketing adds the rules:"))
def marketing_adds_rules(rule_files: dict[str, str], datatable: list[list[str]]) -> None:
    header, *rows = datatable
    rules = []
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        rule: dict[str, Any] = {
            "id": cells["rule"],
            "description": cells["description"],
            "priority": int(cells["priority"]),
            "then": [_effect(cells["effect"])],
        }
        condition = _CONDITIONS[cells["condition"]]
        if condition is not None:
            rule["when"] = condition
        if cells.get("limit"):
            rule["limit"] = _LIMITS[cells["limit"]]
        for key in ("from", "until"):
            if cells.get(key):
                rule[key] = date.fromisoformat(cells[key])
        rules.append(rule)
    document = {"ruleset": "marketing", "on": ["purchase"], "rules": rules}
    rule_files["marketing.yaml"] = yaml.safe_dump(document, sort_keys=False)


@given("the member is a gold member")
def gold_member(rule_world: dict[str, Any]) -> None:
    rule_world["member"] = {"tier": "gold"}


@given(parsers.parse('the member is tagged "{tag}"'))
def member_tagged(rule_world: dict[str, Any], tag: str) -> None:
    rule_world["member"] = {**rule_world["member"], "tags": (tag,)}


@given(parsers.parse('the member already had the rule "{rule_id}" once'))
def rule_used_once(rule_world: dict[str, Any], rule_id: str) -> None:
    rule_world["usage"][rule_id] = 1


@when(parsers.parse('a member buys a "{sku}" in "{category}" for {amount:d} CNY on {day}'))
def member_buys(
    rule_files: dict[str, str],
    rule_world: dict[str, Any],
    sku: str,
    category: str,
    amount: int,
    day: str,
) -> None:
    book = build_rulebook(rule_files, "spec")
    moment = datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=14)
    line = Line(sku, category, 1, Decimal(amount))
    occurrence = Occurrence("purchase", "spec", moment, Decimal(amount), (line,))
    member = Member("ann", **rule_world["member"])
    decisions = book.evaluate(EvaluationInput(occurrence, member, MemberStats(), moment))
    used: dict[str, int] = rule_world["usage"]
    stopped = {
        d.rule_id
        for d in decisions
        if d.limit is not None and d.limit.times is not None
        and used.get(d.rule_id, 0) >= d.limit.times
    }
    rule_world["stopped"] = stopped
    rule_world["decisions"] = [d for d in decisions if d.rule_id not in stopped]
    rule_world["occurrence"] = occurrence


def _decisions(rule_world: dict[str, Any]) -> list[Decision]:
    return list(rule_world["decisions"])


@then(parsers.parse('the rule "{rule_id}" fires with the reason "{reason}"'))
def rule_fires(rule_world: dict[str, Any], rule_id: str, reason: str) -> None:
    fired = [d for d in _decisions(rule_world) if d.rule_id == rule_id]
    assert fired and fired[0].reason == reason


@then(parsers.parse('the rule "{rule_id}" does not fire'))
def rule_does_not_fire(rule_world: dict[str, Any], rule_id: str) -> None:
    assert rule_id not in [d.rule_id for d in _decisions(rule_world)]


@then(parsers.parse("the member earns {points:d} points"))
def member_earns(rule_world: dict[str, Any], points: int) -> None:
    resolved = resolve_points(_decisions(rule_world), rule_world["occurrence"])
    assert sum(resolved.values()) == points


@then(parsers.parse("the rules fire in this order: {names}"))
def rules_in_order(rule_world: dict[str, Any], names: str) -> None:
    fired = [d.rule_id for d in _decisions(rule_world)]
    assert fired == [name.strip() for name in names.split(",")]


@then(parsers.parse('the rule "{rule_id}" matches but its limit stops it for this member'))
def rule_stopped(rule_world: dict[str, Any], rule_id: str) -> None:
    assert rule_id in rule_world["stopped"]
    assert rule_id not in [d.rule_id for d in _decisions(rule_world)]


@then(parsers.parse(
    'the member is offered "{offer}" worth {value:d} bonus points for {days:d} days'
))
def offered(rule_world: dict[str, Any], offer: str, value: int, days: int) -> None:
    offers = [d.effect for d in _decisions(rule_world) if isinstance(d.effect, IssueOffer)]
    assert [(o.offer_id, o.benefit, o.value, o.valid_days) for o in offers] == [
        (offer, "bonus_points", value, days)
    ]


@then(parsers.parse('the member is given the reward "{reward}"'))
def given_reward(rule_world: dict[str, Any], reward: str) -> None:
    effects = [d.effect for d in _decisions(rule_world)]
    assert any(isinstance(e, GrantReward) and e.reward_id == reward for e in effects)


@when(parsers.parse('marketing misspells "{right}" as "{wrong}" in the {ruleset} rules'))
def misspell(
    rule_files: dict[str, str], rule_world: dict[str, Any], right: str, wrong: str, ruleset: str
) -> None:
    name = f"{ruleset}.yaml"
    text = rule_files[name].replace(right, wrong, 1)
    rule_files[name] = text
    rule_world["misspelt_line"] = next(
        number for number, line in enumerate(text.splitlines(), start=1) if wrong in line
    )
    rule_world["problems"] = check_rules(rule_files)


@then(parsers.parse('the check reports a problem in "{file}" on the line of the misspelling'))
def problem_on_line(rule_world: dict[str, Any], file: str) -> None:
    problems: list[Problem] = rule_world["problems"]
    assert [(p.file, p.line) for p in problems] == [(file, rule_world["misspelt_line"])]


@then(parsers.parse('the problem suggests "{suggestion}"'))
def problem_suggests(rule_world: dict[str, Any], suggestion: str) -> None:
    assert f"did you mean '{suggestion}'" in rule_world["problems"][0].message


@then("the changed rules cannot be activated")
def cannot_activate(rule_files: dict[str, str]) -> None:
    with pytest.raises(RulesInvalid):
        build_rulebook(rule_files, "spec")
