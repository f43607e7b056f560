"""Compiling parsed rules into durable_rules JSON rulesets, one per event type.

An evaluation runs in two steps inside the engine. First every purchase line is asserted as a
fact ("k": "l"); line rules ("L<n>", one per distinct condition on lines) record which lines
match. Then one context fact ("k": "c") is asserted, carrying for each line rule the number of
lines it matched and missed; rule conditions ("r<n>") test those counts for any_line/all_lines.
Negation is pushed down to the comparisons (De Morgan); a comparison on a missing fact is false,
so a negated comparison also matches when the fact is missing ($nex).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loyalty.domain.catalogue import Catalogue
from loyalty.domain.policy import AttributeDef, EventDef
from loyalty.engine.syntax import Compare, Condition, Lines, RuleDef
from loyalty.engine.vocabulary import (
    ATTRIBUTE_PREFIXES,
    EVENT_ATTRIBUTES,
    fact_type,
    history_path,
    is_line_fact,
)

MAX_RULES_PER_RULESET = 400
#: A rule every fact ("f": 1) starts to match and none completes (no fact has "f": 2): it never
#: fires, and it keeps the engine from refusing a fact that no rule of the set matches.
HOLD: dict[str, Any] = {"hold": {"all": [{"m": {"f": 1}}, {"n": {"f": 2}}], "run": "hold"}}
# durable_rules refuses a rule whose expression holds more than this many $and/$or nodes
# ("Could not create ruleset, error code: 113").
MAX_GROUPS_PER_RULE = 15
NUMBER_PREFIX = "num__"  # no fact path starts so, so a number key cannot meet another key
GROUP_SIZE = 20
LINE_COUNT = "event_line_count"
_ORDER_OPS = {"above": "$gt", "at_least": "$gte", "below": "$lt", "at_most": "$lte"}
_NEGATED_ORDER = {"above": "$lte", "at_least": "$lt", "below": "$gte", "at_most": "$gt"}
#: Fact types whose words compare without regard to case.
WORD_TYPES = ("text", "list", "attribute")


@dataclass
class FieldSpec:
    """Which facts the compiled set reads, so each asserted fact carries only those."""

    paths: set[str] = field(default_factory=set)
    prefixes: dict[str, set[int]] = field(default_factory=dict)
    line_rules: list[str] = field(default_factory=list)
    attributes: dict[str, AttributeDef] = field(default_factory=dict)
    """The event attributes read, as the set's event type declares them."""
    event_history: set[str] = field(default_factory=set)
    """The event types whose history (`events.<type>.*`) the set reads."""


@dataclass(frozen=True)
class Target:
    """A compiled rule, and the line rule deciding each of its awards on matching lines."""

    rule: RuleDef
    line_awards: dict[int, str]
    #: the line rules its conditions test (not under a `none`): the lines its rewards are for
    line_tests: tuple[str, ...] = ()


@dataclass
class CompiledSet:
    """One durable ruleset: all rules reacting to one event type, in application order."""

    event_type: str
    name: str
    definition: dict[str, Any]
    targets: dict[str, Target]
    fields: FieldSpec
    groups: int
    line_groups: int
    plans: dict[bool, list[tuple[str, str, str, tuple[int, ...], AttributeDef | None]]] = field(
        default_factory=dict
    )
    owners: dict[str, RuleDef] = field(default_factory=dict)
    """The rule file rule behind each engine rule (a shared line test: the first that used it)."""
    catalogue: Catalogue | None = None
    """The products sold (their warranties give `products.in_warranty`)."""


def field_key(path: str, numeric: bool = False) -> str:
    """The durable property name of a fact path (a line fact's, within its line's record)."""
    key = f"line_{path.split('.', 1)[1]}" if is_line_fact(path) else path.replace(".", "_")
    return number_key(key) if numeric else key


def number_key(key: str) -> str:
    """The property holding the number form of a free-form attribute stored under `key`."""
    return NUMBER_PREFIX + key


def count_groups(node: Any) -> int:
    """How many $and/$or nodes an engine expression holds."""
    if isinstance(node, dict):
        return sum((key in ("$and", "$or")) + count_groups(value) for key, value in node.items())
    if isinstance(node, list):
        return sum(count_groups(item) for item in node)
    return 0


def to_engine(value: Any) -> Any:
    """A value as the engine sees it: Decimal becomes float; others unchanged."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def fold(value: Any) -> Any:
    """Words casefolded (one by one in a tuple), so that they compare without regard to case."""
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, tuple):
        return tuple(fold(item) for item in value)
    return value


class _Compiler:
    def __init__(self, spec: FieldSpec, event: EventDef | None) -> None:
        self.spec = spec
        self.event = event
        self.line_rules: dict[str, str] = {}
        self.line_definitions: dict[str, dict[str, Any]] = {}
        self.owners: dict[str, RuleDef] = {}
        self.current: RuleDef | None = None
        self.tested: list[str] = []

    def line_rule(self, cond: Condition) -> str:
        """The key of the line rule testing `cond` on each line, created on first use."""
        expr = self.cond(cond, False)
        text = json.dumps(expr)
        if text not in self.line_rules:
            key = f"L{len(self.line_rules)}"
            self.line_rules[text] = key
            self.spec.line_rules.append(key)
            if self.current is not None:
                self.owners[key] = self.current
            group = {f"h{(len(self.line_rules) - 1) // GROUP_SIZE}": 1}
            self.line_definitions[key] = {
                "all": [{"m": _join("$and", [{"k": "l"}, group, expr])}],
                "run": key,
            }
        return self.line_rules[text]

    def cond(self, cond: Condition, negated: bool) -> dict[str, Any]:
        if isinstance(cond, Compare):
            return self.compare(cond, negated)
        if isinstance(cond, Lines):
            return self.lines(cond, negated)
        kind = cond.kind
        inner_negated = negated != (kind == "none")
        parts = [self.cond(item, inner_negated) for item in cond.items]
        conjunction = (kind == "any") == negated
        return _join("$and" if conjunction else "$or", parts)

    def lines(self, cond: Lines, negated: bool) -> dict[str, Any]:
        key = self.line_rule(cond.cond)
        if not negated and key not in self.tested:
            self.tested.append(key)
        if cond.kind == "any_line":
            return {key: 0} if negated else {"$gt": {key: 0}}
        if negated:
            return _join("$or", [{LINE_COUNT: 0}, {"$gt": {f"{key}_miss": 0}}])
        return _join("$and", [{"$gt": {LINE_COUNT: 0}}, {f"{key}_miss": 0}])

    def compare(self, c: Compare, negated: bool) -> dict[str, Any]:
        ftype = c.kind or fact_type(c.path) or ""
        self.spec.paths.add(c.path)
        self.declare(c.path)
        history = history_path(c.path)
        if history is not None:
            self.spec.event_history.add(history[0])
        sample = c.value[0] if isinstance(c.value, tuple) else c.value
        numeric = ftype == "attribute" and isinstance(sample, Decimal)
        key = field_key(c.path, numeric)
        value = fold(c.value) if ftype in WORD_TYPES else c.value
        if c.op == "exists":
            present = value != negated
            return {"$ex" if present else "$nex": {key: 1}}
        if c.op == "contains":
            value = to_engine(value)
            test = {"$iall": {key: {"$neq": {"$i": value}}}} if negated else {
                "$iany": {key: {"$i": value}}}
        elif c.op == "starts_with":
            length = len(value)
            self.spec.prefixes.setdefault(c.path, set()).add(length)
            test = _test(f"{key}__p{length}", "$neq" if negated else None, value)
        else:
            test = self.test(key, c.op, value, negated)
        # a negated test holds when the fact is unknown; lists and yes/no facts are always known,
        # except the attributes an event may come without
        always_known = ftype in ("list", "yes/no") and not c.path.startswith(ATTRIBUTE_PREFIXES)
        if negated and not always_known and not is_line_fact(c.path):
            return _join("$or", [{"$nex": {key: 1}}, test])
        return test

    def declare(self, path: str) -> None:
        """Remember how the set's event type declares an event attribute a rule reads."""
        if self.event is None or not path.startswith(EVENT_ATTRIBUTES):
            return
        attribute = self.event.attribute(path.removeprefix(EVENT_ATTRIBUTES))
        if attribute is not None:
            self.spec.attributes[path] = attribute

    def test(self, key: str, op: str, value: Any, negated: bool) -> dict[str, Any]:
        if op in _ORDER_OPS:
            return _test(key, (_NEGATED_ORDER if negated else _ORDER_OPS)[op], value)
        if op == "between":
            low, high = value
            if negated:
                return _join("$or", [_test(key, "$lt", low), _test(key, "$gt", high)])
            return _join("$and", [_test(key, "$gte", low), _test(key, "$lte", high)])
        if op in ("is", "is_not"):
            equal = (op == "is") != negated
            return _test(key, None if equal else "$neq", value)
        values = list(value)
        member = (op == "in") != negated
        if member:
            return _join("$or", [_test(key, None, v) for v in values])
        return _join("$and", [_test(key, "$neq", v) for v in values])


def _test(key: str, op: str | None, value: Any) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
        engine_value = value
    else:
        engine_value = to_engine(value)
    if op is None:
        return {key: engine_value}
    return {op: {key: engine_value}}


def _join(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for part in parts:
        if len(part) == 1 and op in part:
            flat.extend(part[op])
        else:
            flat.append(part)
    return flat[0] if len(flat) == 1 else {op: flat}


def compile_event(
    event_type: str, rules: list[RuleDef], version: str, event: EventDef | None = None,
    catalogue: Catalogue | None = None,
) -> CompiledSet:
    """Compile the rules reacting to one event type (already in application order); `event`
    declares the attributes events of this type carry, `catalogue` the products sold."""
    spec = FieldSpec(paths={"event.date"})
    compiler = _Compiler(spec, event)
    definition: dict[str, Any] = {}
    targets: dict[str, Target] = {}
    for index, rule in enumerate(rules):
        compiler.current = rule
        compiler.tested = []
        parts: list[dict[str, Any]] = [{"k": "c"}, {f"g{index // GROUP_SIZE}": 1}]
        if rule.valid_from:
            parts.append({"$gte": {"event_date": _date_number(rule.valid_from)}})
        if rule.valid_until:
            parts.append({"$lte": {"event_date": _date_number(rule.valid_until)}})
        if rule.when is not None:
            parts.append(compiler.cond(rule.when, False))
        awards = {
            position: compiler.line_rule(effect.on_lines)
            for position, effect in enumerate(rule.effects)
            if effect.on_lines is not None
        }
        key = f"r{index}"
        definition[key] = {"all": [{"m": _join("$and", parts)}], "pri": rule.priority, "run": key}
        targets[key] = Target(rule, awards, tuple(compiler.tested))
        compiler.owners[key] = rule
    definition.update(compiler.line_definitions)
    definition.update(HOLD)
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    safe_version = "".join(ch if ch.isalnum() else "_" for ch in version)[:40]
    return CompiledSet(
        event_type=event_type,
        name=f"{event_type}__v{safe_version}__{digest[:10]}",
        definition=definition,
        targets=targets,
        fields=spec,
        groups=max(1, -(-len(rules) // GROUP_SIZE)),
        line_groups=-(-len(spec.line_rules) // GROUP_SIZE),
        owners=compiler.owners,
        catalogue=catalogue,
    )


def _date_number(value: Any) -> int:
    return int(value.year * 10000 + value.month * 100 + value.day)
