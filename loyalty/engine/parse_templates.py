"""Reading templates.yaml: the texts notifications are rendered from, one per channel, each
problem on its line (an unknown channel, an unknown placeholder, a brace that opens nothing)."""

from __future__ import annotations

import re
from typing import Any

from loyalty.domain.messages import (
    ALL_CHANNELS,
    MAX_TEXT,
    PLACEHOLDERS,
    MessageTemplate,
    placeholders,
    unknown_placeholder,
)
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.problems import Reporter, did_you_mean

TEMPLATE_KEYS = ("description", "subject", *ALL_CHANNELS)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SHAPE = ("templates.yaml holds 'templates:', a mapping of names to texts per channel, like "
         "birthday: {sms: 'Happy birthday, {member.name}!'}")


def parse_templates(doc: Any, report: Reporter) -> tuple[MessageTemplate, ...]:
    """The templates of templates.yaml, reporting every problem."""
    if doc is None:
        return ()
    if not isinstance(doc, dict) or not isinstance(doc.get("templates"), dict):
        report.add(key_line(doc, "templates", line_of(doc, 1)), SHAPE)
        return ()
    for key in doc:
        if key != "templates":
            report.add(key_line(doc, key), f"unknown key '{key}'"
                       + did_you_mean(key, ["templates"]))
    node = doc["templates"]
    found: list[MessageTemplate] = []
    for name, body in node.items():
        template = _template(str(name), body, report, key_line(node, name))
        if template is not None:
            found.append(template)
    return tuple(found)


def _template(name: str, body: Any, report: Reporter, line: int | None) -> MessageTemplate | None:
    if not NAME.match(name):
        report.add(line, f"template name '{name}' must be a lowercase name like birthday "
                         "(letters, digits, - or _; at most 64)")
        return None
    if not isinstance(body, dict) or not body:
        report.add(line, f"template '{name}' needs its text per channel, like "
                         "{sms: 'Happy birthday!'}")
        return None
    texts: dict[str, str] = {}
    for key, value in body.items():
        at = key_line(body, key, line)
        if key not in TEMPLATE_KEYS:
            report.add(at, f"template '{name}': unknown channel or setting '{key}' (channels: "
                           f"{', '.join(ALL_CHANNELS)}; settings: subject, description)"
                       + did_you_mean(key, TEMPLATE_KEYS))
            continue
        if not isinstance(value, str) or not value.strip():
            report.add(at, f"template '{name}': '{key}' must be text")
            continue
        if key == "description":
            continue
        check_text(value, report, at, f"template '{name}' {key}")
        texts[key] = value
    subject = texts.pop("subject", "")
    if not texts:
        report.add(line, f"template '{name}' has no text for any channel "
                         f"({', '.join(ALL_CHANNELS)})")
        return None
    # kept despite its problems, so that the rules naming it are not reported as well
    return MessageTemplate(name, texts, subject, line)


def check_text(text: str, report: Reporter, line: int | None, where: str) -> bool:
    """Report what is wrong with the braces and placeholders of a text; True when nothing."""
    names, problems = placeholders(text)
    for problem in problems:
        report.add(line, f"{where}: {problem}")
    for name in names:
        if unknown_placeholder(name):
            report.add(line, f"{where}: unknown placeholder '{{{name}}}'"
                       + did_you_mean(name, PLACEHOLDERS)
                       + " (placeholders: " + ", ".join(PLACEHOLDERS) + ", event.<attribute>)")
            problems.append(name)
    if len(text) > MAX_TEXT:
        report.add(line, f"{where}: {len(text):,} characters, at most {MAX_TEXT:,}")
        problems.append("long")
    return not problems
