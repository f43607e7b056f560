"""What rules see: words compare without regard to case, and an event attribute is read as the
type its event declares (unknown when it is not declared or not of that type)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from loyalty.domain.attributes import BadValue, attribute_problems, read_value
from loyalty.domain.policy import AttributeDef, EventDef, ProgramPolicy
from loyalty.engine import build_rulebook
from tests.unit.engine.conftest import snapshot

PROGRAM = """currency: CNY
tiers:
  metric: spend_365d
  levels:
    - {tier: member, threshold: 0}
    - {tier: gold, threshold: 20000}
events:
  service:
    attributes:
      cost: money
      outcome: {type: word, values: [upheld, rejected]}
      parts: list
      under_warranty: yes/no
      visited_on: date
  complaint:
    attributes:
      severity: number
"""


def fires(when: str, on: str = "purchase", kind: str | None = None, **facts: Any) -> bool:
    """Whether a rule reacting to `on` with the one condition `when` fires for an event of
    `kind` (default: `on`) built from `facts`."""
    text = (f"ruleset: probe\non: [{on}]\nrules:\n  - id: probe\n    description: a probe\n"
            f"    when:\n      - {when}\n    then:\n      - award_points: {{points: 1}}\n")
    book = build_rulebook({"program.yaml": PROGRAM, "probe.yaml": text}, "1")
    decisions = book.evaluate(snapshot(kind=kind or on, **facts))
    return [d.rule_id for d in decisions] == ["probe"]


@pytest.mark.parametrize(("when", "member"), [
    ("{fact: member.tier, is: gold}", {"tier": "Gold"}),
    ("{fact: member.tier, is: GOLD}", {"tier": "gold"}),
    ("{fact: member.tier, in: [Gold]}", {"tier": "gOLD"}),
    ("{fact: member.region, starts_with: EA}", {"region": "east"}),
    ("{fact: member.tags, contains: Newsletter}", {"tags": ("NEWSLETTER",)}),
    ("{fact: member.attributes.segment, is: Students}", {"attributes": {"segment": "students"}}),
])
def test_words_match_whatever_their_case(when: str, member: dict[str, Any]) -> None:
    assert fires(when, member=member)


def test_different_words_still_differ() -> None:
    assert not fires("{fact: member.tier, is: gold}", member={"tier": "member"})
    assert fires("{fact: member.tier, is_not: gold}", member={"tier": "member"})


@pytest.mark.parametrize("cost", ["680", 680, "680.00", Decimal("680"), 680.5])
def test_money_sent_as_text_or_number_compares_as_an_amount(cost: Any) -> None:
    assert fires("{fact: event.attributes.cost, above: 500}", "service",
                 attributes={"cost": cost})


@pytest.mark.parametrize("cost", ["499.99", "a lot", -680, True])
def test_an_amount_below_or_not_an_amount_does_not_match(cost: Any) -> None:
    assert not fires("{fact: event.attributes.cost, above: 500}", "service",
                     attributes={"cost": cost})


def test_a_value_not_of_its_type_is_unknown() -> None:
    assert fires("{fact: event.attributes.cost, exists: false}", "service",
                 attributes={"cost": "a lot"})
    assert fires("{fact: event.attributes.outcome, exists: false}", "service",
                 attributes={"outcome": "maybe"})


def test_a_declared_word_matches_whatever_its_case() -> None:
    assert fires("{fact: event.attributes.outcome, is: upheld}", "service",
                 attributes={"outcome": "Upheld"})


def test_yes_no_is_true_or_false_only() -> None:
    assert fires("{fact: event.attributes.under_warranty, is: true}", "service",
                 attributes={"under_warranty": True})
    assert not fires("{fact: event.attributes.under_warranty, is: true}", "service",
                     attributes={"under_warranty": "true"})


def test_dates_and_lists_are_read_as_such() -> None:
    assert fires("{fact: event.attributes.visited_on, between: [2026-05-01, 2026-05-31]}",
                 "service", attributes={"visited_on": "2026-05-02"})
    assert fires("{fact: event.attributes.parts, contains: filter}", "service",
                 attributes={"parts": ["Filter", "hose"]})
    assert fires("{fact: event.attributes.parts, exists: false}", "service",
                 attributes={"parts": "filter"})


def test_an_attribute_the_event_type_does_not_declare_is_unknown() -> None:
    when = "{fact: event.attributes.cost, exists: true}"
    assert fires(when, "service, complaint", "service", attributes={"cost": "10"})
    assert not fires(when, "service, complaint", "complaint", attributes={"cost": "10"})


def test_the_dates_the_service_raises_compare_as_days() -> None:
    when = "{fact: event.attributes.review_at, at_least: 2026-11-20}"
    attributes = {"tier": "gold", "to": "member", "review_at": "2026-11-20T00:00:00+08:00"}
    assert fires(when, "downgrade_notice", attributes=attributes)


# ---- reading one value ----------------------------------------------------------------------


def attribute(kind: str, *values: str) -> AttributeDef:
    return AttributeDef("x", kind, values)


@pytest.mark.parametrize(("kind", "raw", "value"), [
    ("money", "680", Decimal(680)),
    ("money", 680.5, Decimal("680.5")),
    ("number", "-2.5", Decimal("-2.5")),
    ("word", "Upheld", "upheld"),
    ("yes/no", False, False),
    ("date", "2026-11-20", date(2026, 11, 20)),
    ("list", ["A", "b"], ("a", "b")),
    ("money", None, None),
])
def test_a_value_is_read_as_its_declared_type(kind: str, raw: Any, value: Any) -> None:
    assert read_value(attribute(kind), raw) == value


@pytest.mark.parametrize(("kind", "raw", "message"), [
    ("money", "1e3", "Must be an amount of money."),
    ("money", True, "Must be an amount of money."),
    ("money", "1.23456", "Must be an amount of money: not negative, at most 4 decimal places."),
    ("number", "many", "Must be a number."),
    ("word", 5, "Must be a word."),
    ("word", " ", "Must be a word."),
    ("yes/no", "yes", "Must be true or false."),
    ("date", "20/11/2026", "Must be a date like 2026-11-20."),
    ("list", "a", "Must be a list of words."),
    ("list", ["a", 1], "Must be a list of words."),
])
def test_a_value_not_of_its_type_is_refused_saying_what_it_must_be(
    kind: str, raw: Any, message: str
) -> None:
    with pytest.raises(BadValue) as raised:
        read_value(attribute(kind), raw)
    assert str(raised.value) == message


def test_a_word_outside_its_values_is_refused_listing_them() -> None:
    with pytest.raises(BadValue) as raised:
        read_value(attribute("word", "upheld", "rejected"), "maybe")
    assert str(raised.value) == "Must be one of: upheld, rejected."


def test_the_problems_of_an_event_name_each_declared_attribute() -> None:
    policy = ProgramPolicy(events=(EventDef("service", (attribute("money"),)),))
    assert attribute_problems(policy, "service", {"x": "a lot", "other": "anything"}) == {
        "x": ["Must be an amount of money."]}
    assert attribute_problems(policy, "visit", {"x": "a lot"}) == {}
