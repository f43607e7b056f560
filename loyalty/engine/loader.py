"""Reading YAML rule files into plain values that remember their line numbers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from loyalty.engine.problems import Reporter


class LineMap(dict[str, Any]):
    """A mapping read from YAML, with the line of itself and of each key."""

    line: int
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A sequence read from YAML, with the line of itself and of each item."""

    line: int
    item_lines: list[int]


ANCHORS_REFUSED = "YAML anchors and aliases are not allowed (write the value out in full)"


class _AnchorFound(yaml.MarkedYAMLError):
    """A `&anchor` or `*alias` in a rule file."""


class _NoAnchorLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases: an alias bomb cannot expand."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AnchorFound(problem=ANCHORS_REFUSED, problem_mark=event.start_mark)
        return super().compose_node(parent, index)


def read_rule_dir(path: str | Path) -> dict[str, str]:
    """Every *.yaml / *.yml file of a directory (not recursive), name -> text, sorted by name.
    The text is the file's bytes decoded, line endings untouched: exported and read back, a
    version has the same content hash."""
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"rule directory not found: {directory}")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    return {p.name: p.read_bytes().decode("utf-8") for p in files}


def rules_content_hash(files: Mapping[str, str]) -> str:
    """sha256 hex of the file names and texts, independent of mapping order."""
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_yaml(text: str, report: Reporter) -> Any:
    """Parse one YAML document into LineMap/LineList/scalars; syntax errors become problems."""
    try:
        node = yaml.compose(text, Loader=_NoAnchorLoader)
    except _AnchorFound as error:
        mark = error.problem_mark
        report.add(mark.line + 1 if mark is not None else None, ANCHORS_REFUSED)
        return None
    except yaml.MarkedYAMLError as error:
        # an unclosed bracket or quote is reported where it was opened, the usual mistake
        mark = error.context_mark or error.problem_mark
        line = mark.line + 1 if mark is not None else None
        found = ""
        if error.context_mark and error.problem_mark:
            found = f" (noticed on line {error.problem_mark.line + 1})"
        report.add(
            line, f"YAML syntax: {error.context or ''} {error.problem}{found}".replace("  ", " ")
        )
        return None
    except yaml.YAMLError as error:
        report.add(None, f"YAML syntax: {error}")
        return None
    if node is None:
        return None
    constructor = yaml.SafeLoader("")
    try:
        return _convert(node, constructor, report)
    except yaml.constructor.ConstructorError as error:
        mark = error.problem_mark
        report.add(mark.line + 1 if mark else None, f"YAML value: {error.problem}")
        return None


def _convert(node: yaml.Node, constructor: yaml.SafeLoader, report: Reporter) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = LineMap()
        result.line = line
        result.key_lines = {}
        for key_node, value_node in node.value:
            # keys keep their written form: YAML 1.1 would read `on:` as true
            if isinstance(key_node, yaml.ScalarNode):
                key = str(key_node.value)
            else:
                key = str(constructor.construct_object(key_node, deep=True))
            key_line = key_node.start_mark.line + 1
            if key in result:
                report.add(key_line, f"key '{key}' appears twice in the same place")
                continue
            result[key] = _convert(value_node, constructor, report)
            result.key_lines[key] = key_line
        return result
    if isinstance(node, yaml.SequenceNode):
        items = LineList()
        items.line = line
        items.item_lines = []
        for item in node.value:
            items.append(_convert(item, constructor, report))
            items.item_lines.append(item.start_mark.line + 1)
        return items
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError:
        return node.value  # an impossible date such as 2026-13-45: the reader reports it


def line_of(value: Any, default: int | None = None) -> int | None:
    """The line a LineMap/LineList starts on, else `default`."""
    return getattr(value, "line", default)


def key_line(mapping: Any, key: str, default: int | None = None) -> int | None:
    """The line of `key` in a LineMap, else the mapping's own line, else `default`."""
    lines = getattr(mapping, "key_lines", None)
    if lines and key in lines:
        return int(lines[key])
    return line_of(mapping, default)
