"""Reading `value:` in program.yaml: how members are valued and what marketing calls each value
quadrant. The numbers are read (and their ranges checked) with every other section's; this
adds the names of the segments."""

from __future__ import annotations

import re
from typing import Any

from loyalty.domain.policy import VALUE_QUADRANTS, ValuePolicy, ValueSegments
from loyalty.engine.loader import key_line
from loyalty.engine.problems import Reporter, did_you_mean

#: A segment's name: a word or a few, up to 20 characters (what members.value_segment holds).
SEGMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,19}$")


def parse_segments(node: Any, report: Reporter, line: int | None) -> ValueSegments:
    """`value.segments`: the name of each quadrant (keep, grow, maintain, reduce_cost); those
    not given keep their default names. Names are distinct without regard to case."""
    defaults = ValueSegments()
    if not isinstance(node, dict):
        report.add(line, "value.segments maps each quadrant (keep, grow, maintain, reduce_cost) "
                         "to its name, like {grow: develop}")
        return defaults
    names: dict[str, str] = {}
    for quadrant, name in node.items():
        at = key_line(node, quadrant, line)
        if quadrant not in VALUE_QUADRANTS:
            report.add(at, f"value.segments: unknown quadrant '{quadrant}'"
                       + did_you_mean(str(quadrant), VALUE_QUADRANTS)
                       + "; the quadrants are " + ", ".join(VALUE_QUADRANTS))
        elif not isinstance(name, str) or not SEGMENT_NAME.match(name):
            report.add(at, f"value.segments.{quadrant} is a name of 1 to 20 letters, digits, "
                           f"spaces, - or _, like grow, not {name!r}")
        else:
            names[quadrant] = name
    segments = ValueSegments(**names)
    seen: dict[str, str] = {}
    for quadrant in VALUE_QUADRANTS:
        name = getattr(segments, quadrant)
        other = seen.setdefault(name.casefold(), quadrant)
        if other != quadrant:
            report.add(key_line(node, quadrant, key_line(node, other, line)),
                       f"value.segments: {other} and {quadrant} are both called '{name}': "
                       "each quadrant needs its own name")
            return defaults
    return segments


def value_policy(values: dict[str, Any], node: Any, report: Reporter,
                 line: int | None) -> ValuePolicy:
    """The `value:` section from its checked settings (`values`, see parse_policy._section)."""
    settings = dict(values)
    if "segments" in settings:
        settings["segments"] = parse_segments(settings["segments"], report,
                                              key_line(node, "segments", line))
    return ValuePolicy(**settings)
