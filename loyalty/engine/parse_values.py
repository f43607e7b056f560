"""Reading what program.yaml declares that rules are checked against: the channels, the stores,
and the events tills send with the type of each of their attributes."""

from __future__ import annotations

import re
from typing import Any

from loyalty.domain.attributes import RAISED_EVENTS, TRANSACTION_EVENTS
from loyalty.domain.policy import ATTRIBUTE_TYPES, AttributeDef, EventDef
from loyalty.engine.limits import too_long
from loyalty.engine.loader import key_line
from loyalty.engine.parse_effects import node_lines
from loyalty.engine.problems import Reporter, did_you_mean
from loyalty.engine.vocabulary import ATTRIBUTE_NAME

VALUE_KEYS = ("channels", "stores", "events")
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
EVENT_KEYS = ("description", "attributes")
ATTRIBUTE_KEYS = ("type", "values")
#: The lists whose words name something the database keeps, and what they name.
WORD_KINDS = {"channels": "channel", "stores": "store"}


def parse_words(doc: Any, key: str, report: Reporter) -> tuple[str, ...] | None:
    """A list of words or codes such as `channels:`; None when the key is absent."""
    if key not in doc:
        return None
    node, line = doc[key], key_line(doc, key)
    if not isinstance(node, list) or not node:
        report.add(line, f"'{key}' lists one or more words or codes, like [store, web, app]")
        return None
    words: list[str] = []
    for item, at in zip(node, node_lines(node, line), strict=True):
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            report.add(at, f"{key}: each entry is a word or code, not {item!r}")
        elif str(item).casefold() in (word.casefold() for word in words):
            report.add(at, f"{key}: '{item}' appears twice")
        elif key in WORD_KINDS and report.limits and too_long(WORD_KINDS[key], str(item)):
            report.add(at, f"{key}: {too_long(WORD_KINDS[key], str(item))}")
        else:
            words.append(str(item))
    return tuple(words)


def parse_events(doc: Any, report: Reporter) -> tuple[EventDef, ...]:
    """The events tills send (`events:`), each with the attributes rules may test."""
    node, line = doc.get("events"), key_line(doc, "events")
    if node is None:
        return ()
    if not isinstance(node, dict):
        report.add(line, "'events' maps each event tills send to its attributes, like "
                         "service: {attributes: {cost: money}}")
        return ()
    events: list[EventDef] = []
    for name, spec in node.items():
        at = key_line(node, name, line)
        if not EVENT_NAME.match(name):
            report.add(at, f"event '{name}': use a lowercase name like service "
                           "(letters, digits and _)")
        elif report.limits and too_long("event", name):
            report.add(at, str(too_long("event", name)))
        elif name in RAISED_EVENTS:
            report.add(at, f"event '{name}' is raised by the service, which fixes its "
                           "attributes: leave it out of events")
        elif name in TRANSACTION_EVENTS:
            report.add(at, f"event '{name}' has facts of its own (event.total, lines...), "
                           "not attributes: leave it out of events")
        else:
            events.append(EventDef(name, _attributes(name, spec, report, at)))
    return tuple(events)


def _attributes(
    event: str, spec: Any, report: Reporter, line: int | None
) -> tuple[AttributeDef, ...]:
    if spec is None:
        return ()
    if not isinstance(spec, dict):
        report.add(line, f"event '{event}' needs a mapping like {{attributes: {{cost: money}}}}")
        return ()
    for key in spec:
        if key not in EVENT_KEYS:
            hint = did_you_mean(key, EVENT_KEYS)
            report.add(key_line(spec, key, line), f"unknown setting '{key}' in '{event}'{hint}")
    node = spec.get("attributes")
    at = key_line(spec, "attributes", line)
    if node is None:
        return ()
    if not isinstance(node, dict):
        report.add(at, f"the attributes of '{event}' map each name to its type, like cost: money")
        return ()
    attributes: list[AttributeDef] = []
    for name, kind in node.items():
        attribute = _attribute(event, name, kind, report, key_line(node, name, at))
        if attribute is not None:
            attributes.append(attribute)
    return tuple(attributes)


def _attribute(
    event: str, name: str, node: Any, report: Reporter, line: int | None
) -> AttributeDef | None:
    where = f"attribute '{name}' of '{event}'"
    if not ATTRIBUTE_NAME.match(name):
        report.add(line, f"{where}: a name starts with a letter and holds letters, digits and _")
        return None
    spec: Any = node if isinstance(node, dict) else {"type": node}
    for key in spec:
        if key not in ATTRIBUTE_KEYS:
            report.add(key_line(spec, key, line),
                       f"unknown setting '{key}' in {where}" + did_you_mean(key, ATTRIBUTE_KEYS))
            return None
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in ATTRIBUTE_TYPES:
        report.add(
            key_line(spec, "type", line),
            f"{where}: unknown type {kind!r}" + did_you_mean(str(kind), ATTRIBUTE_TYPES)
            + f"; the types are {', '.join(ATTRIBUTE_TYPES)}",
        )
        return None
    if "values" not in spec:
        return AttributeDef(name, kind)
    if kind != "word":
        report.add(key_line(spec, "values", line), f"{where}: only a word attribute lists values")
        return None
    values = parse_words(spec, "values", report)
    if values is None:
        return None
    return AttributeDef(name, kind, tuple(value.casefold() for value in values))
