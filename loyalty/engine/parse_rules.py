"""Reading one ruleset file: its header and its rules."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from loyalty.engine.known_values import KnownValues
from loyalty.engine.limits import too_long
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.parse_conditions import parse_condition
from loyalty.engine.parse_effects import node_lines, parse_effects, parse_holdout, parse_limit
from loyalty.engine.problems import Reporter, did_you_mean
from loyalty.engine.syntax import RuleDef

RULESET_KEYS = ("ruleset", "description", "on", "rules")
RULE_KEYS = (
    "id",
    "description",
    "from",
    "until",
    "priority",
    "when",
    "then",
    "limit",
    "campaign",
    "holdout",
)
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,59}$")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
MAX_PRIORITY = 65535
DEFAULT_PRIORITY = 100


def parse_ruleset(doc: Any, report: Reporter) -> tuple[str | None, list[RuleDef]]:
    """Parse a ruleset document into its name and rules, reporting every problem."""
    if not isinstance(doc, dict):
        report.add(line_of(doc, 1), "a ruleset file starts with 'ruleset:', 'on:' and 'rules:'")
        return None, []
    for key in doc:
        if key not in RULESET_KEYS:
            report.add(key_line(doc, key), f"unknown key '{key}'" + did_you_mean(key, RULESET_KEYS))
    name = doc.get("ruleset")
    if not isinstance(name, str) or not NAME.match(name):
        report.add(
            key_line(doc, "ruleset", 1),
            "'ruleset' must be a lowercase name like earning (letters, digits, - or _)",
        )
        name = None
    if "description" in doc and not isinstance(doc["description"], str):
        report.add(key_line(doc, "description"), "'description' must be text")
    events = _parse_events(doc.get("on"), report, key_line(doc, "on", 1))
    report.events = events
    rules_node = doc.get("rules")
    if not isinstance(rules_node, list):
        report.add(key_line(doc, "rules", 1), "'rules' needs a list of rules")
        return name, []
    rules: list[RuleDef] = []
    for position, (node, at) in enumerate(zip(rules_node, node_lines(rules_node, 1), strict=True)):
        rule = _parse_rule(node, report, at, name or "?", events, position)
        if rule is not None:
            rules.append(rule)
    report.rule_id = None
    return name, rules


def _parse_events(node: Any, report: Reporter, line: int | None) -> tuple[str, ...]:
    if isinstance(node, str):
        node = [node]
    if not isinstance(node, list) or not node:
        report.add(
            line,
            "'on' lists the events the rules react to, e.g. [purchase]",
        )
        return ()
    known = (report.known or KnownValues()).event_names
    events: list[str] = []
    for item, at in zip(node, node_lines(node, line), strict=True):
        if not isinstance(item, str) or not NAME.match(item) or "-" in item:
            report.add(
                at,
                f"unknown event {item!r}: use a lowercase name like purchase"
                + did_you_mean(str(item), known),
            )
        elif item not in known:
            report.add(
                at,
                f"unknown event '{item}'"
                + (did_you_mean(item, known) or ": declare your own events under events: in "
                   "program.yaml"),
            )
        elif item not in events:
            events.append(item)
    return tuple(events)


def _parse_rule(
    node: Any,
    report: Reporter,
    line: int | None,
    ruleset: str,
    events: tuple[str, ...],
    position: int,
) -> RuleDef | None:
    report.rule_id = None
    if not isinstance(node, dict):
        report.add(line, "each rule is a mapping starting with 'id:'")
        return None
    rule_id = node.get("id")
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        report.add(
            key_line(node, "id", line),
            "every rule needs an 'id' like base-earn (letters, digits, - _ .)",
        )
        rule_id = None
    report.rule_id = rule_id
    if rule_id is not None:
        report.declared.append(rule_id)
    before = len(report.problems)
    for key in node:
        if key not in RULE_KEYS:
            report.add(
                key_line(node, key, line), f"unknown key '{key}'" + did_you_mean(key, RULE_KEYS)
            )
    description = node.get("description")
    if not isinstance(description, str) or not description.strip():
        report.add(
            key_line(node, "description", line), "every rule needs a plain-language 'description'"
        )
    priority = node.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int):
        report.add(
            key_line(node, "priority", line), f"priority must be a whole number, got {priority!r}"
        )
    elif not 0 <= priority <= MAX_PRIORITY:
        report.add(
            key_line(node, "priority", line),
            f"priority {priority} is out of range 0..{MAX_PRIORITY}",
        )
    valid_from = _date(node, "from", report, line)
    valid_until = _date(node, "until", report, line)
    if valid_from and valid_until and valid_from > valid_until:
        report.add(
            key_line(node, "until", line), f"'until' {valid_until} is before 'from' {valid_from}"
        )
    when = None
    if "when" in node and node["when"] is not None:
        when = parse_condition(node["when"], report, key_line(node, "when", line), in_lines=False)
    effects = None
    if "then" in node:
        effects = parse_effects(node["then"], report, key_line(node, "then", line))
    else:
        report.add(line, "every rule needs 'then' with at least one effect")
    limit = (
        parse_limit(node["limit"], report, key_line(node, "limit", line))
        if "limit" in node
        else None
    )
    holdout = (
        parse_holdout(node["holdout"], report, key_line(node, "holdout", line))
        if "holdout" in node
        else None
    )
    campaign = node.get("campaign")
    if campaign is not None and not isinstance(campaign, str):
        report.add(key_line(node, "campaign", line), "'campaign' must be a name")
    elif campaign is not None and report.limits and too_long("campaign", campaign):
        report.add(key_line(node, "campaign", line), str(too_long("campaign", campaign)))
    if len(report.problems) > before or rule_id is None or effects is None:
        return None
    return RuleDef(
        id=rule_id,
        description=str(description).strip(),
        ruleset=ruleset,
        file=report.file,
        line=line,
        position=position,
        priority=int(priority),
        events=events,
        valid_from=valid_from,
        valid_until=valid_until,
        when=when,
        effects=tuple(effects),
        limit=limit,
        campaign=campaign,
        holdout=holdout,
    )


def _date(node: dict[str, Any], key: str, report: Reporter, line: int | None) -> date | None:
    if key not in node:
        return None
    value = node[key]
    if isinstance(value, datetime) or not isinstance(value, date):
        report.add(
            key_line(node, key, line), f"bad date for '{key}': {value!r} (write it like 2026-12-24)"
        )
        return None
    return value
