"""Line conditions are spread over engine groups of GROUP_SIZE; every one must still fire, and a
line condition too complex for the engine is reported against its own rule."""

from __future__ import annotations

import pytest
import yaml

from loyalty.engine import build_rulebook, check_rules
from loyalty.engine.compiler import GROUP_SIZE
from tests.unit.engine.conftest import snapshot, with_program


def line_rules(count: int) -> dict[str, str]:
    """`count` rules, each awarding points on lines of its own SKU."""
    rules = [{
        "id": f"sku-{n}", "description": f"points on SKU-{n}", "priority": 10,
        "then": [{"award_points": {"per_currency_unit": 1,
                                   "on_lines": {"fact": "line.sku", "is": f"SKU-{n}"}}}],
    } for n in range(count)]
    document = {"ruleset": "lines", "on": ["purchase"], "rules": rules}
    return with_program({"lines.yaml": yaml.safe_dump(document, sort_keys=False)})


@pytest.mark.parametrize("count", [1, GROUP_SIZE - 1, GROUP_SIZE, GROUP_SIZE + 1,
                                   2 * GROUP_SIZE - 1])
def test_every_line_condition_fires_whatever_its_place_in_the_groups(count: int) -> None:
    book = build_rulebook(line_rules(count), f"groups-{count}")
    for n in range(count):
        decisions = book.evaluate(snapshot(lines=((f"SKU-{n}", "misc", 1, "10.00"),)))
        assert [(d.rule_id, d.matched_lines) for d in decisions] == [(f"sku-{n}", (0,))]


def test_a_line_condition_too_complex_for_the_engine_names_its_rule() -> None:
    pairs = [{"all": [{"fact": "line.sku", "is": f"SKU-{n}"},
                      {"fact": "line.category", "is": f"cat-{n}"}]} for n in range(16)]
    rule = {"id": "odd-lines", "description": "points on unusual lines", "priority": 10,
            "then": [{"award_points": {"per_currency_unit": 1, "on_lines": {"any": pairs}}}]}
    document = {"ruleset": "lines", "on": ["purchase"], "rules": [rule]}
    text = yaml.safe_dump(document, sort_keys=False)
    problems = check_rules(with_program({"lines.yaml": text}))
    assert [(p.file, p.rule_id) for p in problems] == [("lines.yaml", "odd-lines")]
    assert problems[0].line == text.splitlines().index("- id: odd-lines") + 1
    assert "conditions too complex for the engine" in problems[0].message
