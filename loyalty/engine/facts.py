"""Turning a snapshot into the facts asserted into a compiled ruleset."""

from __future__ import annotations

from typing import Any

from loyalty.domain.model import EvaluationInput
from loyalty.engine.compiler import LINE_COUNT, CompiledSet, field_key, number_key, to_engine
from loyalty.engine.vocabulary import (
    attribute_number,
    attribute_text,
    fact_type,
    is_line_fact,
    line_facts,
    snapshot_facts,
)

LIST_FILLER = ""


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
    _put(fact, snapshot_facts(data), compiled, lines=False)
    count = len(data.occurrence.lines)
    fact[LINE_COUNT] = count
    for key in compiled.fields.line_rules:
        matched = len(line_hits.get(key, ()))
        fact[key] = matched
        fact[f"{key}_miss"] = count - matched
    return fact


def _put(fact: dict[str, Any], values: dict[str, Any], compiled: CompiledSet, lines: bool) -> None:
    for path, key, ftype, prefixes in _plan(compiled, lines):
        value = values.get(path)
        if ftype == "attribute":
            text, number = attribute_text(value), attribute_number(value)
            if text is not None:
                fact[key] = text
            if number is not None:
                fact[number_key(key)] = float(number)
            continue
        if value is None:
            continue
        if ftype == "list":
            fact[key] = [str(item) for item in value] + [LIST_FILLER]
        else:
            fact[key] = to_engine(value)
        for length in prefixes:
            fact[f"{key}__p{length}"] = str(value)[:length]


def _plan(compiled: CompiledSet, lines: bool) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """The (path, key, type, prefix lengths) a compiled set reads, computed once."""
    cached = compiled.plans.get(lines)
    if cached is not None:
        return cached
    spec = compiled.fields
    plan = [
        (
            path,
            field_key(path),
            fact_type(path) or "",
            tuple(sorted(spec.prefixes.get(path, ()))),
        )
        for path in sorted(spec.paths)
        if is_line_fact(path) == lines
    ]
    compiled.plans[lines] = plan
    return plan
