"""Steps for the rule language: marketing writes rules from tables, a member buys at a real till
(the service on a real database, the rules activated as a version), and the receipt says which
rules fired."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from loyalty.domain.commands import EnrolMember, LineIn, RecordTransaction
from loyalty.domain.errors import RulesInvalid
from loyalty.domain.model import EvaluationInput, Line, Occurrence
from loyalty.engine import Problem, build_rulebook, check_rules, read_rule_dir
from loyalty.services import members, transactions
from loyalty.services.context import ServiceContext
from loyalty.services.rules import activate

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
MEMBER = "M-ANN"
ENROLLED = datetime(2026, 1, 5, 10, tzinfo=UTC)

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
_PER_UNIT_ON_LINES = re.compile(r"^(\d+) points for every unit on (\S+) lines$")
_DOUBLE_ON_LINES = re.compile(r"^double the points on (\S+) lines$")


def _effect(text: str) -> dict[str, Any]:
    if match := _EXTRA_ON_LINES.match(text):
        rate, category = match.groups()
        on_lines = {"fact": "line.category", "is": category}
        return {"award_points": {"per_currency_unit": int(rate), "on_lines": on_lines}}
    if match := _FIXED.match(text):
        return {"award_points": {"points": int(match.group(1))}}
    if match := _PER_UNIT_ON_LINES.match(text):
        per_unit, category = match.groups()
        on_lines = {"fact": "line.category", "is": category}
        return {"award_points": {"per_unit": int(per_unit), "on_lines": on_lines}}
    if match := _DOUBLE_ON_LINES.match(text):
        on_lines = {"fact": "line.category", "is": match.group(1)}
        return {"multiply_points": {"by": 2, "on_lines": on_lines}}
    if match := _OFFER.match(text):
        offer, value, days = match.groups()
        return {"issue_offer": {"offer": offer, "benefit": "bonus_points", "value": int(value),
                                "valid_days": int(days)}}
    raise ValueError(f"no effect phrase for {text!r}")


@pytest.fixture
def rule_world() -> dict[str, Any]:
    return {"tier": None, "tags": (), "enrolled": False, "purchases": 0}


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
    rule_world["tier"] = "gold"


@given(parsers.parse('the member is tagged "{tag}"'))
def member_tagged(rule_world: dict[str, Any], tag: str) -> None:
    rule_world["tags"] = (*rule_world["tags"], tag)


def _shop(ctx: ServiceContext, rule_files: dict[str, str], rule_world: dict[str, Any]) -> None:
    """Activate the scenario's rules and enrol its member, once, before the first purchase."""
    if rule_world["enrolled"]:
        return
    ctx.clock = lambda: ENROLLED
    activate(ctx, rule_files, activated_by="spec", reason="spec")
    ctx.rules.invalidate()
    members.enrol(ctx, EnrolMember(member_id=MEMBER, name="Ann", enrolled_at=ENROLLED,
                                   tags=tuple(rule_world["tags"])))
    if rule_world["tier"]:
        with ctx.uow() as uow:
            uow.members.update(MEMBER, tier=rule_world["tier"])
            uow.commit()
    rule_world["enrolled"] = True


def _buy(ctx: ServiceContext, rule_files: dict[str, str], rule_world: dict[str, Any], sku: str,
         category: str, amount: int, moment: datetime) -> dict[str, Any]:
    """A real purchase of one item through the till's path; the receipt it answers."""
    line = LineIn(sku=sku, category=category, quantity=1, unit_price=Decimal(amount))
    return _buy_lines(ctx, rule_files, rule_world, (line,), moment)


def _buy_lines(ctx: ServiceContext, rule_files: dict[str, str], rule_world: dict[str, Any],
               lines: tuple[LineIn, ...], moment: datetime) -> dict[str, Any]:
    """A real purchase through the till's path; the receipt it answers."""
    _shop(ctx, rule_files, rule_world)
    rule_world["purchases"] += 1
    tx_id = f"SPEC-{rule_world['purchases']}"
    ctx.clock = lambda: moment
    command = RecordTransaction(
        transaction_id=tx_id, type="purchase", member_id=MEMBER, occurred_at=moment,
        fingerprint=tx_id, currency="CNY", lines=lines,
    )
    receipt: dict[str, Any] = transactions.record_transaction(ctx, command).body
    rule_world["last_purchase"] = tx_id
    return receipt


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).replace(hour=14)


@given(parsers.parse('the member already had the rule "{rule_id}" once'))
def rule_used_once(ctx: ServiceContext, rule_files: dict[str, str], rule_world: dict[str, Any],
                   rule_id: str) -> None:
    receipt = _buy(ctx, rule_files, rule_world, "KETTLE-1", "kitchen", 100, _at("2026-04-01"))
    assert rule_id in [d["rule_id"] for d in receipt["decisions"]]


@when(parsers.parse('a member buys a "{sku}" in "{category}" for {amount:d} CNY on {day}'))
def member_buys(
    ctx: ServiceContext,
    rule_files: dict[str, str],
    rule_world: dict[str, Any],
    sku: str,
    category: str,
    amount: int,
    day: str,
) -> None:
    moment = _at(day)
    rule_world["receipt"] = _buy(ctx, rule_files, rule_world, sku, category, amount, moment)
    rule_world["moment"] = moment


@when(parsers.parse(
    'a member buys {count:d} "{sku}" in "{category}" at {price:d} CNY each on {day}'))
def member_buys_several(ctx: ServiceContext, rule_files: dict[str, str],
                        rule_world: dict[str, Any], count: int, sku: str, category: str,
                        price: int, day: str) -> None:
    moment = _at(day)
    line = LineIn(sku=sku, category=category, quantity=count, unit_price=Decimal(price))
    rule_world["receipt"] = _buy_lines(ctx, rule_files, rule_world, (line,), moment)
    rule_world["moment"] = moment


@when(parsers.parse('a member buys a "{sku}" in "{category}" for {amount:d} CNY and a '
                    '"{other}" in "{other_category}" for {other_amount:d} CNY together on {day}'))
def member_buys_two(ctx: ServiceContext, rule_files: dict[str, str], rule_world: dict[str, Any],
                    sku: str, category: str, amount: int, other: str, other_category: str,
                    other_amount: int, day: str) -> None:
    moment = _at(day)
    lines = (LineIn(sku=sku, category=category, quantity=1, unit_price=Decimal(amount)),
             LineIn(sku=other, category=other_category, quantity=1,
                    unit_price=Decimal(other_amount)))
    rule_world["receipt"] = _buy_lines(ctx, rule_files, rule_world, lines, moment)
    rule_world["moment"] = moment


@when(parsers.parse('the member returns one "{sku}"'))
def member_returns_one(ctx: ServiceContext, rule_world: dict[str, Any], sku: str) -> None:
    rule_world["purchases"] += 1
    tx_id = f"SPEC-{rule_world['purchases']}"
    command = RecordTransaction(
        transaction_id=tx_id, type="return", member_id=MEMBER, occurred_at=rule_world["moment"],
        fingerprint=tx_id, lines=(LineIn(sku=sku, quantity=1),),
        original_transaction_id=rule_world["last_purchase"],
    )
    rule_world["receipt"] = transactions.record_transaction(ctx, command).body


@then(parsers.parse("the return takes back {points:d} points"))
def return_takes_back(rule_world: dict[str, Any], points: int) -> None:
    assert rule_world["receipt"]["points"]["clawed_back"] == points, rule_world["receipt"]


def _fired(rule_world: dict[str, Any]) -> list[str]:
    return [d["rule_id"] for d in rule_world["receipt"]["decisions"]]


@then(parsers.parse('the rule "{rule_id}" fires with the reason "{reason}"'))
def rule_fires(rule_world: dict[str, Any], rule_id: str, reason: str) -> None:
    fired = [d for d in rule_world["receipt"]["decisions"] if d["rule_id"] == rule_id]
    assert fired and {d["reason"] for d in fired} == {reason}


@then(parsers.parse('the rule "{rule_id}" does not fire'))
def rule_does_not_fire(rule_world: dict[str, Any], rule_id: str) -> None:
    assert rule_id not in _fired(rule_world)


@then(parsers.parse("the member earns {points:d} points"))
def member_earns(rule_world: dict[str, Any], points: int) -> None:
    assert rule_world["receipt"]["points"]["earned"] == points


@then(parsers.parse("the rules fire in this order: {names}"))
def rules_in_order(rule_world: dict[str, Any], names: str) -> None:
    assert _fired(rule_world) == [name.strip() for name in names.split(",")]


@then(parsers.parse('the rule "{rule_id}" matches but its limit stops it for this member'))
def rule_stopped(ctx: ServiceContext, rule_world: dict[str, Any], rule_id: str) -> None:
    receipt = rule_world["receipt"]
    with ctx.uow(read_only=True) as uow:
        row = uow.members.get(MEMBER)
        assert row is not None
        member = uow.members.to_domain(row)
        stats = uow.transactions.stats(row, rule_world["moment"])
    line = Line("KETTLE-1", "kitchen", 1, Decimal(100))
    occurrence = Occurrence("purchase", receipt["transaction_id"], rule_world["moment"],
                            Decimal(100), (line,))
    matched = ctx.rules.current().evaluate(
        EvaluationInput(occurrence, member, stats, rule_world["moment"]))
    assert rule_id in [d.rule_id for d in matched]
    assert rule_id not in _fired(rule_world)


@then(parsers.parse(
    'the member is offered "{offer}" worth {value:d} bonus points for {days:d} days'
))
def offered(rule_world: dict[str, Any], offer: str, value: int, days: int) -> None:
    offers = [o for o in rule_world["receipt"]["offers"] if o["status"] == "issued"]
    until = rule_world["moment"] + timedelta(days=days)
    assert [(o["offer_code"], o["benefit"], o["value"], o["valid_until"]) for o in offers] == [
        (offer, "bonus_points", str(value), until.isoformat())
    ]


@then(parsers.parse('the member is given the reward "{reward}"'))
def given_reward(rule_world: dict[str, Any], reward: str) -> None:
    rewards = [r["reward_id"] for r in rule_world["receipt"]["rewards"]]
    assert rewards == [reward]


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
