"""Notifications in rule files: templates.yaml, placeholders, channels, and what the check
reports about them with file and line; rendering replaces placeholders and runs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from loyalty.domain.messages import consented, placeholders, render
from loyalty.engine import check_rules, read_rule_dir
from loyalty.engine.rulebook import analyse
from loyalty.packs import pack_dir, pack_names
from tests.unit.engine.conftest import with_program

CARE = """ruleset: care
on: [birthday, complaint]
rules:
  - id: greet
    description: Happy birthday
    when:
      - {fact: event.type, is: birthday}
    then:
      - notify: NOTIFY
"""
TEMPLATES = """templates:
  birthday:
    subject: "Happy birthday, {member.name}"
    sms: "Happy birthday, {member.name}! You are {event.age}."
    email: "Dear {member.name}, happy birthday."
"""


def files(notify: str, templates: str = TEMPLATES) -> dict[str, str]:
    return with_program({"care.yaml": CARE.replace("NOTIFY", notify),
                         "templates.yaml": templates})


def problems(notify: str, templates: str = TEMPLATES) -> list[str]:
    return [str(problem) for problem in check_rules(files(notify, templates))]


def test_a_rule_naming_a_template_and_its_channels_checks_clean() -> None:
    assert problems("{notification: hello, template: birthday, channels: [sms]}") == []
    policy = analyse(files("{notification: hello, template: birthday}")).policy
    template = policy.template("birthday")
    assert template is not None and template.channels == ("sms", "email")


@pytest.mark.parametrize(("notify", "expected"), [
    ("{notification: hello, template: birthdy}",
     "care.yaml:9: rule 'greet': notify names template 'birthdy', not in templates.yaml "
     "(templates.yaml has birthday) (did you mean 'birthday'?)"),
    ("{notification: hello, template: birthday, channels: [sms, pidgeon]}",
     "care.yaml:9: rule 'greet': notify: unknown channel 'pidgeon' (channels: sms, email, push, "
     "phone, system)"),
    ("{notification: hello, template: birthday, channels: [push]}",
     "care.yaml:9: rule 'greet': template 'birthday' has no text for channel 'push' (it has "
     "sms, email)"),
    ("{notification: hello, message: 'Hi {member.nmae}'}",
     "care.yaml:9: rule 'greet': notify message: unknown placeholder '{member.nmae}' (did you "
     "mean 'member.name'?)"),
    ("{notification: hello, message: 'Hi {__import__(\"os\")}'}",
     "care.yaml:9: rule 'greet': notify message: '{__import__(\"os\")}' is not a placeholder"),
    ("{notification: hello, message: 'Your {reward} awaits'}",
     "care.yaml:9: rule 'greet': notify uses {reward}, but the rule grants no reward"),
    ("{notification: hello, message: 'Off {event.outcome}'}",
     "care.yaml:9: rule 'greet': notify uses {event.outcome}, but birthday events carry age, "
     "date"),
    ("{notification: hello, template: birthday, message: hi}",
     "care.yaml:9: rule 'greet': notify: give 'message' (the text itself) or 'template'"),
])
def test_a_mistake_in_a_notify_effect_is_reported_at_its_line(notify: str,
                                                                expected: str) -> None:
    found = problems(notify)
    assert any(problem.startswith(expected) for problem in found), found


def test_a_mistake_in_templates_yaml_is_reported_at_its_own_line() -> None:
    broken = TEMPLATES.replace("{event.age}", "{points.avialable}").replace(
        "    email:", "    fax: nope\n    email:")
    found = problems("{notification: hello, template: birthday}", broken)
    assert any(p.startswith("templates.yaml:4: template 'birthday' sms: unknown placeholder "
                            "'{points.avialable}' (did you mean 'points.available'?)")
               for p in found), found
    assert any(p.startswith("templates.yaml:5: template 'birthday': unknown channel or setting "
                            "'fax'") for p in found), found


def test_a_template_attribute_the_rules_event_does_not_carry_is_reported_at_the_rule() -> None:
    care = CARE.replace("on: [birthday, complaint]", "on: [birthday, purchase]").replace(
        "      - {fact: event.type, is: birthday}\n", "      - {fact: member.tier, is: gold}\n")
    found = [str(p) for p in check_rules(with_program({
        "care.yaml": care.replace("NOTIFY", "{notification: hello, template: birthday}"),
        "templates.yaml": TEMPLATES}))]
    assert found == ["care.yaml:9: rule 'greet': template 'birthday' uses {event.age}, but "
                     "purchase events carry no attributes"]


def test_an_event_without_declared_attributes_may_carry_any() -> None:
    assert problems("{notification: hello, message: 'Case {event.case_no}'}") != []
    care = CARE.replace("is: birthday}", "is: complaint}")
    found = check_rules(with_program({"care.yaml": care.replace(
        "NOTIFY", "{notification: hello, message: 'Case {event.case_no}'}")}))
    assert found == []


@pytest.mark.parametrize("name", pack_names())
def test_every_bundled_pack_checks_clean_with_its_notifications(name: str) -> None:
    assert check_rules(read_rule_dir(pack_dir(name))) == []


def test_the_standard_rules_send_real_text_from_their_templates() -> None:
    policy = analyse(read_rule_dir(Path(pack_dir("retail")))).policy
    assert {"birthday", "welcome", "gift-granted"} <= {t.name for t in policy.templates}
    birthday = policy.template("birthday")
    assert birthday is not None and "sms" in birthday.texts


def test_rendering_replaces_placeholders_and_nothing_else() -> None:
    values = {"member.name": "Ann", "points.available": "100"}
    assert render("Hi {member.name}, {points.available} points; {{not}} {offer}", values) == (
        "Hi Ann, 100 points; {not} ")
    assert render("{member.name.__class__}", values) == ""
    names, wrong = placeholders("a { b {member.name} {0} }")
    assert names == ["member.name"] and len(wrong) == 3


def test_only_a_system_message_goes_out_without_consent() -> None:
    assert consented("system", None)
    assert not consented("sms", None)
    assert not consented("sms", {"email": True})
    assert consented("sms", {"sms": True})
    assert not consented("email", {"email": "yes"})
