"""Reading YAML rule files into plain values that remember their line numbers."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from loyalty.domain.errors import RulesInvalid
from loyalty.engine.limits import (
    FOLDER,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_FILES,
    STORED_DEPTH,
    SUFFIXES,
    size_words,
)
from loyalty.engine.problems import Problem, Reporter


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


class _TooDeep(yaml.MarkedYAMLError):
    """Mappings and lists nested deeper than MAX_DEPTH."""


TOO_DEEP = (f"nested too deeply: at most {MAX_DEPTH} levels of mappings and lists (move "
            "conditions out of groups, or test one fact against a list with 'in')")


class _NoAnchorLoader(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases (an alias bomb cannot expand) and
    nesting deeper than MAX_DEPTH (composing is recursive: it would run out of stack)."""

    max_depth = MAX_DEPTH

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _AnchorFound(problem=ANCHORS_REFUSED, problem_mark=event.start_mark)
        if self._depth >= self.max_depth:
            raise _TooDeep(problem=TOO_DEEP, problem_mark=event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass(frozen=True)
class RuleFolder:
    """The rule files read from a folder, and the problems of those that could not be read."""

    files: dict[str, str]
    problems: list[Problem]


def read_rule_folder(path: str | Path) -> RuleFolder:
    """Every *.yaml / *.yml file of a folder (not recursive), name -> text, sorted by name.
    The text is the file's bytes decoded, line endings untouched: exported and read back, a
    version has the same content hash.

    A link is followed only to a file inside the folder; a link out of it (or to nothing), a
    file that is not a regular file, a file too large, or bytes that are not UTF-8 is a
    problem, and that file is left out. Each file is opened without following a link at its
    last step, so a link swapped in after the check is not followed either."""
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"rule directory not found: {directory}")
    root = directory.resolve()
    files: dict[str, str] = {}
    problems: list[Problem] = []
    names = sorted(entry.name for entry in os.scandir(root)  # hidden: an editor's files
                   if entry.name.endswith(SUFFIXES) and not entry.name.startswith(".")
                   and not entry.is_dir())
    if len(names) > MAX_FILES:
        problems.append(Problem(FOLDER, None, None, f"{len(names)} rule files in the folder: a "
                                f"rule set holds at most {MAX_FILES}"))
        names = names[:MAX_FILES]
    for name in names:
        text = _read_one(root, name, problems)
        if text is not None:
            files[name] = text
    return RuleFolder(files, problems)


def read_rule_dir(path: str | Path) -> dict[str, str]:
    """The rule files of a folder (see `read_rule_folder`); RulesInvalid lists the problems of
    any that could not be read."""
    folder = read_rule_folder(path)
    if folder.problems:
        raise RulesInvalid(f"{len(folder.problems)} problem(s) reading the rule folder {path}",
                           details={"problems": [str(p) for p in folder.problems]})
    return folder.files


def _read_one(root: Path, name: str, problems: list[Problem]) -> str | None:
    """One file's text, or None after adding its problem."""
    where = root / name
    if where.is_symlink():
        target = where.resolve()
        if not target.is_relative_to(root):
            problems.append(Problem(name, None, None, f"a link out of the rule folder (to "
                                    f"{target}): only files inside the folder are read"))
            return None
        if not target.exists():
            problems.append(Problem(name, None, None, "a link to a file that does not exist"))
            return None
        where = target
    try:
        handle = os.open(where, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        problems.append(Problem(name, None, None, f"cannot be read: {error.strerror}"))
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            problems.append(Problem(name, None, None, "not a regular file"))
            return None
        with os.fdopen(os.dup(handle), "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(handle)
    if len(data) > MAX_FILE_BYTES:
        size = os.stat(where).st_size
        problems.append(Problem(name, None, None, f"file too large: {size_words(size)}, a rule "
                                f"file holds at most {size_words(MAX_FILE_BYTES)}"))
        return None
    text, problem = decode_rule_file(name, data)
    if problem is not None:
        problems.append(problem)
    return text


def decode_rule_file(name: str, data: bytes) -> tuple[str | None, Problem | None]:
    """A rule file's bytes as text, or the problem (with its line) when they are not UTF-8."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        start = data.rfind(b"\n", 0, error.start) + 1
        return None, Problem(name, data.count(b"\n", 0, error.start) + 1, None,
                             f"not UTF-8 text: byte {data[error.start]:#04x} at column "
                             f"{error.start - start + 1}; save the file as UTF-8")


def rules_content_hash(files: Mapping[str, str]) -> str:
    """sha256 hex of the file names and texts, independent of mapping order."""
    canonical = json.dumps(sorted(files.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _StoredLoader(_NoAnchorLoader):
    """For a version activated before the depth limit: deeper, still short of the stack."""

    max_depth = STORED_DEPTH


def load_yaml(text: str, report: Reporter) -> Any:
    """Parse one YAML document into LineMap/LineList/scalars; syntax errors become problems.
    Without `report.limits` (a stored version) nesting may go deeper."""
    try:
        node = yaml.compose(text, Loader=_NoAnchorLoader if report.limits else _StoredLoader)
    except (_AnchorFound, _TooDeep) as error:
        mark = error.problem_mark
        report.add(mark.line + 1 if mark is not None else None, str(error.problem))
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
