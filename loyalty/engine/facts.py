"""Turning a snapshot into the facts asserted into a compiled ruleset.

This is the one place facts reach the engine: words are casefolded here (and the words of
conditions in the compiler), so they compare without regard to case; an event attribute is
read as the type its event declares, and left unknown when it is not declared or not of that
type.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from loyalty.domain.attributes import BadValue, read_value
from loyalty.domain.model import EvaluationInput
from loyalty.domain.policy import AttributeDef
from loyalty.engine.compiler import LINE_COUNT, CompiledSet, field_key, number_key, to_engine
from loyalty.engine.vocabulary import (
    EVENT_ATTRIBUTES,
    attribute_number,
    attribute_text,
    date_number,
    fact_type,
    is_line_fact,
    line_facts,
    snapshot_facts,
)

Plan = list[tuple[str, str, str, tuple[int, ...], AttributeDef | None]]

LIST_FILLER = ""


#: What every context fact holds besides the facts tested: k, f, id, sid and the line count.
_CONTEXT_BASE = 5
#: What every line fact holds besides the facts tested: k, f, line_idx, id, sid.
_LINE_BASE = 5


def fact_properties(compiled: CompiledSet) -> int:
    """The most properties a context or line fact of this compiled set can hold."""
    context = (_CONTEXT_BASE + compiled.groups + 2 * len(compiled.fields.line_rules)
               + _planned(compiled, lines=False))
    line = _LINE_BASE + compiled.line_groups + _planned(compiled, lines=True)
    return max(context, line if compiled.fields.line_rules else 0)


def _planned(compiled: CompiledSet, lines: bool) -> int:
    """The properties the facts tested can take: a free-form attribute has a number form too,
    and each prefix tested one more."""
    return sum(1 + (ftype == "attribute" and attribute is None) + len(prefixes)
               for _, _, ftype, prefixes, attribute in _plan(compiled, lines))


def line_facts_for(compiled: CompiledSet, data: EvaluationInput) -> list[dict[str, Any]]:
    """One fact per purchase line, for the line rules; empty when the set has none."""
    if not compiled.fields.line_rules:
        return []
    groups = {f"h{n}": 1 for n in range(compiled.line_groups)}
    facts = []
    for index, line in enumerate(data.occurrence.lines):
        fact: dict[str, Any] = {"k": "l", "f": 1, "line_idx": index, **groups}
        _put(fact, line_facts(line), compiled, lines=True)
        facts.append(fact)
    return facts


def context_fact(
    compiled: CompiledSet, data: EvaluationInput, line_hits: dict[str, set[int]]
) -> dict[str, Any]:
    """The context fact: the facts the set tests, plus line counts per line rule."""
    fact: dict[str, Any] = {"k": "c", "f": 1}
    fact.update({f"g{n}": 1 for n in range(compiled.groups)})
    values = snapshot_facts(data, history=compiled.fields.event_history,
                            catalogue=compiled.catalogue)
    _put(fact, values, compiled, lines=False)
    count = len(data.occurrence.lines)
    fact[LINE_COUNT] = count
    for key in compiled.fields.line_rules:
        matched = len(line_hits.get(key, ()))
        fact[key] = matched
        fact[f"{key}_miss"] = count - matched
    return fact


def _put(fact: dict[str, Any], values: dict[str, Any], compiled: CompiledSet, lines: bool) -> None:
    for path, key, ftype, prefixes, attribute in _plan(compiled, lines):
        value = values.get(path)
        if attribute is not None:
            value = declared_value(attribute, value)
        elif path.startswith(EVENT_ATTRIBUTES):
            continue  # not an attribute of this type of event: unknown
        elif ftype == "attribute":
            text, number = attribute_text(value), attribute_number(value)
            if text is not None:
                fact[key] = text.casefold()
            if number is not None:
                fact[number_key(key)] = float(number)
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple):
            fact[key] = [str(item).casefold() for item in value] + [LIST_FILLER]
        elif isinstance(value, str):
            fact[key] = value.casefold()
        else:
            fact[key] = to_engine(value)
        for length in prefixes:
            fact[f"{key}__p{length}"] = str(value).casefold()[:length]


def declared_value(attribute: AttributeDef, raw: Any) -> Any:
    """An event attribute as its declared type (a date as a number); None when it is not."""
    try:
        value = read_value(attribute, raw)
    except BadValue:
        return None
    return date_number(value) if isinstance(value, date) else value


def _plan(compiled: CompiledSet, lines: bool) -> Plan:
    """The (path, key, type, prefix lengths, declared attribute) a compiled set reads, computed
    once."""
    cached = compiled.plans.get(lines)
    if cached is not None:
        return cached
    spec = compiled.fields
    plan: Plan = [
        (
            path,
            field_key(path),
            fact_type(path) or "",
            tuple(sorted(spec.prefixes.get(path, ()))),
            spec.attributes.get(path),
        )
        for path in sorted(spec.paths)
        if is_line_fact(path) == lines
    ]
    compiled.plans[lines] = plan
    return plan
