"""`important_date` in the rule language: its attributes are checked like those of every event
the service raises, rules test them as their types, and program.yaml's `important_dates:` is
checked like every programme value."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.engine import build_rulebook, check_rules
from loyalty.engine.loader import read_rule_dir
from tests.conftest import RULES_DIR
from tests.unit.engine.conftest import snapshot

REMINDER = {"kind": "birthday", "relation": "spouse", "name": "Mei", "label": None,
            "date": "2026-12-03", "days_ahead": 7, "usual_spend": "2999.00",
            "suggested_categories": ["kitchen", "tv"], "spend_band": "high"}


def probe(when: str) -> dict[str, str]:
    """The retail pack with one more rule reacting to important_date under `when`."""
    text = ("ruleset: probe\ndescription: a probe\non: [important_date]\nrules:\n"
            "  - id: probe\n    description: a probe\n    when:\n"
            f"      - {when}\n    then:\n      - award_points: {{points: 1}}\n")
    return {**read_rule_dir(RULES_DIR), "probe.yaml": text}


def fires(when: str, **attributes: Any) -> bool:
    book = build_rulebook(probe(when), "1")
    decisions = book.evaluate(snapshot(kind="important_date",
                                       attributes={**REMINDER, **attributes}))
    return "probe" in [d.rule_id for d in decisions]


@pytest.mark.parametrize("when", [
    "{fact: event.attributes.relation, in: [spouse, partner]}",
    "{fact: event.attributes.spend_band, is: High}",
    "{fact: event.attributes.suggested_categories, contains: kitchen}",
    "{fact: event.attributes.days_ahead, at_most: 7}",
    "{fact: event.attributes.usual_spend, above: 2000}",
    "{fact: event.attributes.date, is: 2026-12-03}",
    "{fact: event.attributes.name, is: mei}",
])
def test_a_reminder_is_tested_by_its_attributes(when: str) -> None:
    assert check_rules(probe(when)) == []
    assert fires(when)


@pytest.mark.parametrize(("when", "attributes"), [
    ("{fact: event.attributes.relation, in: [spouse, partner]}", {"relation": "child"}),
    ("{fact: event.attributes.spend_band, is: high}", {"spend_band": "low"}),
    ("{fact: event.attributes.suggested_categories, contains: audio}", {}),
    ("{fact: event.attributes.usual_spend, above: 2000}", {"usual_spend": None}),
    ("{fact: event.attributes.relation, exists: true}", {"relation": ""}),
])
def test_a_reminder_that_does_not_match_does_not_fire(when: str,
                                                      attributes: dict[str, Any]) -> None:
    assert not fires(when, **attributes)


@pytest.mark.parametrize(("when", "message"), [
    ("{fact: event.attributes.relation, is: wife}",
     "'event.attributes.relation' can never be 'wife': the relation of important_date events "
     "is one of spouse, partner, child, parent, sibling, friend, other"),
    ("{fact: event.attributes.spend_band, is: hihg}",
     "'event.attributes.spend_band' can never be 'hihg': the spend_band of important_date "
     "events is one of low, medium, high (did you mean 'high'?)"),
    ("{fact: event.attributes.kind, is: wedding}",
     "'event.attributes.kind' can never be 'wedding': the kind of important_date events is "
     "one of birthday, wedding_anniversary, anniversary, other"),
    ("{fact: event.attributes.suggested_categories, contains: kitchn}",
     "'event.attributes.suggested_categories' can never hold 'kitchn': the categories "
     "(catalogue.yaml) are fridge, appliances, kitchen, small-kitchen, tv, audio, phones, "
     "electronics, ... (did you mean 'kitchen'?)"),
    ("{fact: event.attributes.relatoin, is: spouse}",
     "'event.attributes.relatoin' is not an attribute of important_date events (did you mean "
     "'event.attributes.relation'?); declare the attributes of an event under events: in "
     "program.yaml"),
])
def test_a_value_a_reminder_never_has_is_a_problem_with_its_line(when: str,
                                                                  message: str) -> None:
    [problem] = check_rules(probe(when))
    condition = 8  # the line of the probe rule's condition
    assert (problem.file, problem.line, problem.message) == ("probe.yaml", condition, message)


def test_the_bundled_programme_reminds_a_week_ahead() -> None:
    policy = build_rulebook(read_rule_dir(RULES_DIR), "1").policy
    assert policy.important_dates.remind_days_before == 7


def with_setting(text: str) -> dict[str, str]:
    files = read_rule_dir(RULES_DIR)
    program = files["program.yaml"].replace("important_dates:\n  remind_days_before: 7\n",
                                            text)
    assert program != files["program.yaml"]
    return {**files, "program.yaml": program}


def test_left_out_it_is_a_week() -> None:
    policy = build_rulebook(with_setting(""), "1").policy
    assert policy.important_dates.remind_days_before == 7


@pytest.mark.parametrize("days", [0, 365])
def test_from_the_day_itself_to_a_year_ahead(days: int) -> None:
    files = with_setting(f"important_dates:\n  remind_days_before: {days}\n")
    assert build_rulebook(files, "1").policy.important_dates.remind_days_before == days


@pytest.mark.parametrize(("setting", "message"), [
    ("remind_days_before: -1",
     "important_dates.remind_days_before must be a whole number from 0 to 365, got -1"),
    ("remind_days_before: 366",
     "important_dates.remind_days_before must be a whole number from 0 to 365, got 366"),
    ("remind_days_before: 1.5",
     "important_dates.remind_days_before must be a whole number from 0 to 365, got 1.5"),
    ("remind_days_before: true",
     "important_dates.remind_days_before must be a whole number from 0 to 365, got True"),
    ("remind_day_before: 7", "unknown setting 'remind_day_before' in important_dates "
                             "(did you mean 'remind_days_before'?)"),
])
def test_a_value_that_can_never_occur_is_a_problem_with_its_line(setting: str,
                                                                 message: str) -> None:
    files = with_setting(f"important_dates:\n  {setting}\n")
    [problem] = check_rules(files)
    line = files["program.yaml"].splitlines().index(f"  {setting}") + 1
    assert (problem.file, problem.line, problem.message) == ("program.yaml", line, message)
