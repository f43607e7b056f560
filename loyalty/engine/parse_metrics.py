"""Reading `metrics:` in program.yaml: the figures a programme counts besides spend and visits
(nights, stays, tonnes...), which tiers, VIP and rules may use."""

from __future__ import annotations

import re
from typing import Any

from loyalty.domain.policy import EventDef, MetricDef
from loyalty.engine.loader import key_line
from loyalty.engine.parse_effects import node_lines
from loyalty.engine.problems import Reporter, did_you_mean
from loyalty.engine.vocabulary import EVENT_ATTRIBUTES, FACTS

METRIC_KEYS = ("description", "sum", "count", "categories", "skus", "event")
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: What a metric may sum or count.
LINE_UNITS = "line.quantity"
PURCHASES = "purchase"
SUMMABLE = ("number", "money")
EXAMPLE = "nights: {sum: line.quantity, categories: [room-night]}"


def parse_metrics(doc: dict[str, Any], events: tuple[EventDef, ...], report: Reporter,
                  builtin: tuple[str, ...]) -> tuple[MetricDef, ...]:
    """The metrics program.yaml declares; `builtin` are the statistics every programme has,
    whose names a metric's figures may not take."""
    node, line = doc.get("metrics"), key_line(doc, "metrics")
    if node is None:
        return ()
    if not isinstance(node, dict) or not node:
        report.add(line, f"'metrics' maps each metric's name to what it counts, like {EXAMPLE}")
        return ()
    metrics: list[MetricDef] = []
    for name, spec in node.items():
        at = key_line(node, name, line)
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            report.add(at, f"metric {name!r}: use a lowercase name like nights (letters, digits "
                           "and _, at most 40)")
            continue
        taken = [figure for figure in _figures(name)
                 if figure in builtin or f"stats.{figure}" in FACTS]
        if taken:
            report.add(at, f"metric '{name}': its figure {taken[0]} is a built-in statistic; "
                           "choose another name")
            continue
        metric = _metric(name, spec, events, report, at)
        if metric is not None:
            metrics.append(metric)
    return tuple(metrics)


def _figures(name: str) -> tuple[str, ...]:
    return MetricDef(name, "units").figures


def _metric(name: str, spec: Any, events: tuple[EventDef, ...], report: Reporter,
            line: int | None) -> MetricDef | None:
    if not isinstance(spec, dict):
        report.add(line, f"metric '{name}' needs a mapping like {EXAMPLE}")
        return None
    before = len(report.problems)
    for key in spec:
        if key not in METRIC_KEYS:
            report.add(key_line(spec, key, line), f"unknown setting '{key}' in metric '{name}'"
                       + did_you_mean(str(key), METRIC_KEYS))
    description = spec.get("description", "")
    if not isinstance(description, str):
        report.add(key_line(spec, "description", line),
                   f"metric '{name}': description is text")
    categories = _words(name, spec, "categories", report, line)
    skus = _words(name, spec, "skus", report, line)
    if ("sum" in spec) == ("count" in spec):
        report.add(line, f"metric '{name}' either sums (sum: {LINE_UNITS} or sum: "
                         f"{EVENT_ATTRIBUTES}<name>) or counts (count: {PURCHASES})")
        return None
    if "count" in spec:
        counted = spec["count"]
        if counted != PURCHASES:
            report.add(key_line(spec, "count", line),
                       f"metric '{name}': count counts purchases (count: {PURCHASES}), "
                       f"not {counted!r}")
        measured = MetricDef(name, "purchases", str(description), categories, skus)
    else:
        summed = spec["sum"]
        at = key_line(spec, "sum", line)
        if summed == LINE_UNITS:
            measured = MetricDef(name, "units", str(description), categories, skus)
        elif isinstance(summed, str) and summed.startswith(EVENT_ATTRIBUTES):
            found = _attribute(name, spec, summed.removeprefix(EVENT_ATTRIBUTES), events,
                               report, line)
            if found is None:
                return None
            event, attribute = found
            measured = MetricDef(name, "attribute", str(description), event=event.event_type,
                                 attribute=attribute.name, attribute_type=attribute.type)
        else:
            report.add(at, f"metric '{name}': sum is {LINE_UNITS} (units of purchase lines) "
                           f"or {EVENT_ATTRIBUTES}<name> (an attribute of events), "
                           f"not {summed!r}")
            return None
    if "event" in spec and measured.measure != "attribute":
        report.add(key_line(spec, "event", line),
                   f"metric '{name}': event names the events whose attribute it sums; "
                   "purchases need no event")
    if measured.measure == "attribute" and ("categories" in spec or "skus" in spec):
        key = "categories" if "categories" in spec else "skus"
        report.add(key_line(spec, key, line),
                   f"metric '{name}': {key} choose purchase lines; events have none")
    return measured if len(report.problems) == before else None


def _attribute(name: str, spec: dict[str, Any], attribute: str, events: tuple[EventDef, ...],
               report: Reporter, line: int | None) -> tuple[EventDef, Any] | None:
    """The declared event type and number attribute a metric sums, or None after reporting."""
    kind = spec.get("event")
    declared = [event.event_type for event in events]
    if kind is None:
        report.add(line, f"metric '{name}': a sum of {EVENT_ATTRIBUTES}{attribute} needs "
                         "event: naming the type of event that carries it")
        return None
    at = key_line(spec, "event", line)
    event = next((e for e in events if e.event_type == kind), None)
    if event is None:
        hint = did_you_mean(str(kind), declared) if declared else ""
        report.add(at, f"metric '{name}': event '{kind}' is not declared under events: in "
                       f"program.yaml{hint}")
        return None
    found = event.attribute(attribute)
    sum_at = key_line(spec, "sum", line)
    if found is None:
        hint = did_you_mean(attribute, [a.name for a in event.attributes])
        report.add(sum_at, f"metric '{name}': {kind} events declare no attribute "
                           f"'{attribute}'{hint}")
        return None
    if found.type not in SUMMABLE:
        report.add(sum_at, f"metric '{name}': the {attribute} of {kind} events is "
                           f"{found.type}, and a metric sums a number or money attribute")
        return None
    return event, found


def _words(name: str, spec: dict[str, Any], key: str, report: Reporter,
           line: int | None) -> tuple[str, ...]:
    """`categories:` or `skus:`: one or more codes."""
    if key not in spec:
        return ()
    node, at = spec[key], key_line(spec, key, line)
    if not isinstance(node, list) or not node:
        report.add(at, f"metric '{name}': {key} lists one or more, like [room-night]")
        return ()
    words: list[str] = []
    for item, item_at in zip(node, node_lines(node, at), strict=True):
        if isinstance(item, bool) or not isinstance(item, str | int) or not str(item).strip():
            report.add(item_at, f"metric '{name}': each of {key} is a code, not {item!r}")
        elif str(item).lower() in (word.lower() for word in words):
            report.add(item_at, f"metric '{name}': '{item}' appears twice in {key}")
        else:
            words.append(str(item))
    return tuple(words)
