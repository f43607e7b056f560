"""Reading `when:` conditions, checking facts, operators and value types."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.domain.policy import AttributeDef
from loyalty.engine.known_values import ATTRIBUTE_FACT_TYPES, KnownValues
from loyalty.engine.loader import key_line, line_of
from loyalty.engine.problems import Reporter, did_you_mean
from loyalty.engine.syntax import (
    GROUPS,
    LINE_GROUPS,
    OPERATORS,
    OPERATORS_BY_TYPE,
    Compare,
    Condition,
    Group,
    Lines,
)
from loyalty.engine.vocabulary import (
    ATTRIBUTE_PREFIXES,
    EVENT_ATTRIBUTES,
    EVENT_HISTORY,
    FACTS,
    HISTORY_MEASURES,
    WEEKDAYS,
    date_number,
    fact_type,
    is_line_fact,
)

_RANGES = {
    "event.month": (1, 12),
    "event.hour": (0, 23),
    "member.birthday_month": (1, 12),
    "member.birthday_day": (1, 31),
}


class _Bad(Exception):
    """A value of the wrong type; the message says what was expected."""


def parse_condition(
    node: Any, report: Reporter, line: int | None, in_lines: bool
) -> Condition | None:
    """Parse one condition (or a bare list meaning all); None after reporting problems."""
    if isinstance(node, list):
        return _parse_group("all", node, report, line_of(node, line), in_lines)
    if not isinstance(node, dict):
        report.add(line, "a condition must be a mapping like {fact: ..., is: ...} or a group")
        return None
    line = line_of(node, line)
    if "fact" in node:
        return _parse_compare(node, report, line, in_lines)
    keys = list(node)
    if len(keys) == 1 and keys[0] in GROUPS:
        return _parse_group(keys[0], node[keys[0]], report, key_line(node, keys[0], line), in_lines)
    if len(keys) == 1 and keys[0] in LINE_GROUPS:
        at = key_line(node, keys[0], line)
        if in_lines:
            report.add(at, f"'{keys[0]}' cannot be used inside a condition on lines")
            return None
        inner = parse_condition(node[keys[0]], report, at, in_lines=True)
        return Lines(keys[0], inner) if inner is not None else None
    known = (*GROUPS, *LINE_GROUPS, "fact")
    for key in keys:
        if key not in known:
            report.add(
                key_line(node, key, line),
                f"unknown key '{key}' in condition" + did_you_mean(key, known),
            )
            return None
    report.add(line, "a group condition has exactly one of all/any/none/any_line/all_lines")
    return None


def _parse_group(
    kind: str, items: Any, report: Reporter, line: int | None, in_lines: bool
) -> Condition | None:
    if not isinstance(items, list) or not items:
        report.add(line, f"'{kind}' needs a list of one or more conditions")
        return None
    lines = getattr(items, "item_lines", [line] * len(items))
    parsed = [
        parse_condition(item, report, at, in_lines) for item, at in zip(items, lines, strict=True)
    ]
    if any(p is None for p in parsed):
        return None
    return Group(kind, tuple(p for p in parsed if p is not None))


def _parse_compare(
    node: dict[str, Any], report: Reporter, line: int | None, in_lines: bool
) -> Condition | None:
    path = node["fact"]
    fact_line = key_line(node, "fact", line)
    if not isinstance(path, str):
        report.add(fact_line, "'fact' must name a fact, like member.tier")
        return None
    known = report.known or KnownValues()
    if path.startswith(EVENT_HISTORY):
        problem = known.history_problem(path)
        if problem is not None:
            report.add(fact_line, problem)
            return None
    ftype = fact_type(path)
    figure = known.figure_type(path) if ftype is None else None
    ftype = ftype or figure
    if ftype is None:
        histories = [f"{EVENT_HISTORY}{event}.{measure}" for event in known.history_events
                     for measure in HISTORY_MEASURES]
        choices = [*FACTS, *(p + "<name>" for p in ATTRIBUTE_PREFIXES), *histories,
                   *known.figure_paths]
        report.add(fact_line, f"unknown fact '{path}'" + did_you_mean(path, choices))
        return None
    if in_lines and not is_line_fact(path):
        report.add(fact_line, f"only line.* facts can be tested on lines, not '{path}'")
        return None
    if not in_lines and is_line_fact(path):
        report.add(fact_line, f"'{path}' describes one line: use it inside any_line or all_lines")
        return None
    attribute: AttributeDef | None = None
    if path.startswith(EVENT_ATTRIBUTES):
        declared = known.attribute(path.removeprefix(EVENT_ATTRIBUTES), report.events)
        if isinstance(declared, str):
            report.add(fact_line, declared)
            return None
        if declared is not None:
            attribute, ftype = declared, ATTRIBUTE_FACT_TYPES[declared.type]
    ops = [key for key in node if key != "fact"]
    for key in ops:
        if key not in OPERATORS:
            report.add(
                key_line(node, key, line),
                f"unknown operator '{key}'" + did_you_mean(key, OPERATORS),
            )
            return None
    if len(ops) != 1:
        report.add(line, f"a test on '{path}' needs exactly one operator, found {len(ops)}")
        return None
    op = ops[0]
    op_line = key_line(node, op, line)
    allowed = OPERATORS_BY_TYPE[ftype]
    if attribute is not None and "exists" not in allowed:
        allowed = (*allowed, "exists")  # an event may come without an attribute
    if op not in allowed:
        kind = f"{attribute.type} attribute" if attribute is not None else f"{ftype} fact"
        report.add(
            op_line, f"'{op}' cannot be used on {kind} '{path}' (use one of: {', '.join(allowed)})"
        )
        return None
    try:
        value = _operand(path, ftype, op, node[op])
    except _Bad as error:
        report.add(op_line, f"wrong type for '{path}' {op}: {error}")
        return None
    if not report.limits:  # a stored version: a retired stage reads as the stages it became
        op, value = known.stored_reading(path, op, value, report.events, attribute)
    problem = known.value_problem(path, op, value, report.events, attribute,
                                  stored=not report.limits)
    if problem is not None:
        report.add(op_line, problem)
        return None
    typed = attribute is not None or figure is not None
    return Compare(path, op, value, ftype if typed else None, op_line)


def _operand(path: str, ftype: str, op: str, raw: Any) -> Any:
    if op == "exists":
        if not isinstance(raw, bool):
            raise _Bad("expected true or false")
        return raw
    if op in ("in", "not_in"):
        if not isinstance(raw, list) or not raw:
            raise _Bad("expected a list of one or more values")
        values = tuple(_scalar(path, ftype, op, item) for item in raw)
        if len({isinstance(v, Decimal) for v in values}) > 1:
            raise _Bad("do not mix numbers and words in one list")
        return values
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise _Bad("expected a list of two values [low, high]")
        low, high = (_scalar(path, ftype, op, item) for item in raw)
        if type(low) is not type(high) or low > high:
            raise _Bad(f"the low value {raw[0]!r} must not be above the high value {raw[1]!r}")
        return (low, high)
    return _scalar(path, ftype, op, raw)


def _scalar(path: str, ftype: str, op: str, raw: Any) -> Any:
    numeric_op = op in ("above", "at_least", "below", "at_most", "between")
    if ftype == "money":
        return _number(raw, "an amount of money, like 1000 or 99.50")
    if ftype == "number":
        return _number(raw, "a number, like 3 or 4.5")
    if ftype == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _Bad(f"expected a whole number, got {raw!r}")
        low_high = _RANGES.get(path)
        if low_high and not low_high[0] <= raw <= low_high[1]:
            raise _Bad(f"{raw} is outside {low_high[0]}..{low_high[1]}")
        return raw
    if ftype == "date":
        if isinstance(raw, datetime) or not isinstance(raw, date):
            raise _Bad(f"expected a date like 2026-12-24, got {raw!r}")
        return date_number(raw)
    if ftype == "weekday":
        if not isinstance(raw, str) or raw.lower() not in WEEKDAYS:
            raise _Bad(f"expected a weekday name (monday..sunday), got {raw!r}")
        return raw.lower()
    if ftype == "yes/no":
        if not isinstance(raw, bool):
            raise _Bad(f"expected true or false, got {raw!r}")
        return raw
    if ftype in ("text", "list"):
        if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "":
            raise _Bad(f"expected a word or code, got {raw!r}")
        return str(raw)
    if numeric_op:
        return _number(raw, "a number")
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return raw
    return _number(raw, "a number, a word, or true/false")


def _number(raw: Any, expected: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise _Bad(f"expected {expected}, got {raw!r}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as error:
        raise _Bad(f"expected {expected}, got {raw!r}") from error
    if not value.is_finite():
        raise _Bad(f"expected {expected}, got {raw!r}")
    return value


def condition_paths(cond: Condition | None) -> set[str]:
    """Every fact path a condition tests."""
    if cond is None:
        return set()
    if isinstance(cond, Compare):
        return {cond.path}
    if isinstance(cond, Lines):
        return condition_paths(cond.cond) | {"event.lines"}
    paths: set[str] = set()
    for item in cond.items:
        paths |= condition_paths(item)
    return paths
