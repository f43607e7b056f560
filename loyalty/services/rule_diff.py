"""Two sets of rule files compared entry by entry (rules, rewards, tiers, settings), in words."""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

import yaml

from loyalty.engine.loader import load_yaml
from loyalty.engine.problems import Reporter

ADDED, REMOVED, CHANGED, MOVED, UNREADABLE = "added", "removed", "changed", "moved", "unreadable"
SECTIONS = ("file", "ruleset", "programme", "tier", "event", "catalogue", "reward", "product",
            "template", "rule")
ID_FIELDS = ("id", "tier", "fact", "name")
EFFECT_ID_FIELDS = ("reward", "offer", "privilege", "notification", "tag", "tier")
SUMMARY_FIELDS = ("name", "description")
IDENTITY_FIELDS = (*ID_FIELDS, "ruleset")
FLOAT_TAG = "tag:yaml.org,2002:float"
QUOTED_WHEN = (",", "[", "]", "{", "}", ": ", " #")


@dataclass(frozen=True)
class FieldChange:
    """One changed field of a rule or a setting; `old` is None when added, `new` when removed."""

    path: str
    old: Any
    new: Any

    def words(self) -> str:
        """The change in plain words, e.g. 'limit.times: 1 -> 2'."""
        prefix = f"{self.path}: " if self.path else ""
        if self.old is None:
            return f"{prefix}added {_show(self.new)}"
        if self.new is None:
            return f"{prefix}removed {_show(self.old)}"
        if _scalars(self.old) and _scalars(self.new):
            added, removed = _items_apart(self.old, self.new)
            parts = [f"{verb} {', '.join(_show(item, nested=True) for item in items)}"
                     for verb, items in (("added", added), ("removed", removed)) if items]
            if parts:
                return prefix + "; ".join(parts)
        return f"{prefix}{_show(self.old)} -> {_show(self.new)}"


@dataclass(frozen=True)
class RuleChange:
    """One rule, reward, tier or setting added, removed, changed or moved to another file
    (an added or removed one lists all its fields); or a file that cannot be read (kind
    'unreadable', with its `reason`; `old_file` is set when it is the old file)."""

    kind: str
    section: str
    key: str
    file: str
    old_file: str | None
    fields: tuple[FieldChange, ...]
    reason: str = ""

    def words(self) -> list[str]:
        """The change as plain lines, one per changed field."""
        if self.kind == UNREADABLE:
            which = self.file if self.old_file is None else f"{self.file} as it was"
            return [f"{which} cannot be read: {self.reason}"]
        name = f"{self.section} {self.key}"
        if self.kind in (ADDED, REMOVED):
            summary = _summary(self.fields)
            return [f"{name} ({self.file}) {self.kind}" + (f": {summary}" if summary else "")]
        moved = [f"{name} moved from {self.old_file} to {self.file}"] if self.kind == MOVED else []
        return moved + [f"{name} ({self.file}) changed: {field.words()}" for field in self.fields]


@dataclass(frozen=True)
class RuleDiff:
    """Every difference between two sets of rule files, by file, then section, then key."""

    changes: tuple[RuleChange, ...]
    files_added: tuple[str, ...]
    files_removed: tuple[str, ...]

    @property
    def unchanged(self) -> bool:
        """True when the two sets say the same thing, however they are written."""
        return not (self.changes or self.files_added or self.files_removed)

    def lines(self) -> list[str]:
        """Every difference in plain words; ['no differences'] when there is none."""
        if self.unchanged:
            return ["no differences"]
        return ([f"file {name} added" for name in self.files_added]
                + [f"file {name} removed" for name in self.files_removed]
                + [line for change in self.changes for line in change.words()])

    def as_dict(self) -> dict[str, Any]:
        """The differences as plain JSON-able values."""
        return {
            "unchanged": self.unchanged,
            "files_added": list(self.files_added),
            "files_removed": list(self.files_removed),
            "changes": [_change_dict(change) for change in self.changes],
            "lines": self.lines(),
        }


@dataclass(frozen=True)
class _Entry:
    section: str
    key: str
    file: str
    body: Any


@dataclass(frozen=True)
class _Unreadable:
    reason: str


_ABSENT = object()


def diff_files(old: Mapping[str, str], new: Mapping[str, str]) -> RuleDiff:
    """Compare two sets of rule files (name -> YAML text) rule by rule and setting by setting."""
    names = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    changes: list[RuleChange] = []
    before: list[_Entry] = []
    after: list[_Entry] = []
    for name in names:
        old_doc, new_doc = _read(name, old.get(name)), _read(name, new.get(name))
        unreadable = [(old_file, doc.reason) for old_file, doc in ((name, old_doc), (None, new_doc))
                      if isinstance(doc, _Unreadable)]
        if unreadable:
            changes.extend(RuleChange(UNREADABLE, "file", name, name, old_file, (), reason=why)
                           for old_file, why in unreadable)
            continue
        before.extend(_entries(name, old_doc))
        after.extend(_entries(name, new_doc))
    changes.extend(_compare(_index(before), _index(after)))
    changes.sort(key=lambda change: (change.file, SECTIONS.index(change.section), change.key))
    return RuleDiff(
        changes=tuple(changes),
        files_added=tuple(sorted(new.keys() - old.keys())),
        files_removed=tuple(sorted(old.keys() - new.keys())),
    )


def _read(name: str, text: str | None) -> Any:
    """The file's values, _ABSENT when there is no such file, or _Unreadable with its reason."""
    if text is None:
        return _ABSENT
    report = Reporter(name)
    try:
        load_yaml(text, report)
        if report.problems:
            return _Unreadable("; ".join(
                f"line {problem.line}: {problem.message}" if problem.line else problem.message
                for problem in report.problems))
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        return None if node is None else _value(node, yaml.SafeLoader(""))
    except RecursionError:
        return _Unreadable("nested too deeply")


def _value(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    """A YAML node as plain values; keys as written, decimals as Decimal keeping their digits."""
    if isinstance(node, yaml.MappingNode):
        return {
            str(key.value) if isinstance(key, yaml.ScalarNode)
            else str(constructor.construct_object(key, deep=True)): _value(value, constructor)
            for key, value in node.value
        }
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, constructor) for item in node.value]
    if node.tag == FLOAT_TAG:
        try:
            number = Decimal(str(node.value))
        except InvalidOperation:
            number = Decimal("NaN")
        if number.is_finite():
            return number
    try:
        return constructor.construct_object(node, deep=True)
    except ValueError:
        return node.value


def _entries(name: str, doc: Any) -> list[_Entry]:
    """What one file holds, entry by entry, by the kind of file its name says it is."""
    if doc is _ABSENT:
        return []
    if doc is None:
        doc = {}
    if not isinstance(doc, Mapping):
        return [_Entry("file", name, name, doc)]
    stem = PurePath(name).stem
    if stem == "program":
        return _programme(name, doc)
    if stem == "rewards":
        return _catalogue(name, doc)
    if stem == "catalogue":
        return _products(name, doc)
    if stem == "templates":
        return _templates(name, doc)
    return _ruleset(name, doc)


def _templates(name: str, doc: Mapping[str, Any]) -> list[_Entry]:
    """The message templates of templates.yaml, each known by its name."""
    listed = doc.get("templates")
    if not isinstance(listed, Mapping):
        return [_Entry("file", name, name, doc)]
    return [_Entry("template", str(key), name, body) for key, body in listed.items()]


def _programme(name: str, doc: Mapping[str, Any]) -> list[_Entry]:
    entries: list[_Entry] = []
    for key, value in doc.items():
        if key == "tiers" and isinstance(value, Mapping) and _named(value.get("levels"), "tier"):
            rest = {field: item for field, item in value.items() if field != "levels"}
            if rest:
                entries.append(_Entry("programme", key, name, rest))
            entries.extend(_Entry("tier", level["tier"], name, level) for level in value["levels"])
        elif key == "events" and isinstance(value, Mapping):
            entries.extend(_Entry("event", event, name, body) for event, body in value.items())
        else:
            entries.append(_Entry("programme", key, name, value))
    return entries


def _catalogue(name: str, doc: Mapping[str, Any]) -> list[_Entry]:
    entries: list[_Entry] = []
    for key, value in doc.items():
        if key == "rewards" and isinstance(value, list):
            entries.extend(_listed("reward", name, value))
        else:
            entries.append(_Entry("catalogue", key, name, value))
    return entries


def _products(name: str, doc: Mapping[str, Any]) -> list[_Entry]:
    """The products of catalogue.yaml, each known by its code."""
    entries: list[_Entry] = []
    for key, value in doc.items():
        if key == "products" and isinstance(value, list):
            for position, item in enumerate(value, start=1):
                sku = item.get("sku") if isinstance(item, Mapping) else None
                ident = str(sku) if isinstance(sku, str | int) and str(sku) else (
                    f"{name}#{position}")
                entries.append(_Entry("product", ident, name, item))
        else:
            entries.append(_Entry("catalogue", key, name, value))
    return entries


def _ruleset(name: str, doc: Mapping[str, Any]) -> list[_Entry]:
    listed = doc.get("rules")
    rules: list[Any] = listed if isinstance(listed, list) else []
    header = {key: value for key, value in doc.items() if key != "rules" or listed is not rules}
    ruleset = doc.get("ruleset")
    key = ruleset if isinstance(ruleset, str) and ruleset else PurePath(name).stem
    return [_Entry("ruleset", key, name, header), *_listed("rule", name, rules)]


def _listed(section: str, name: str, items: list[Any]) -> Iterable[_Entry]:
    """Entries of a list identified by their `id`; one without is known by its position."""
    for position, item in enumerate(items, start=1):
        ident = item.get("id") if isinstance(item, Mapping) else None
        key = ident if isinstance(ident, str) and ident else f"{name}#{position}"
        yield _Entry(section, key, name, item)


def _named(items: Any, field: str) -> bool:
    return isinstance(items, list) and all(
        isinstance(item, Mapping) and isinstance(item.get(field), str) for item in items)


def _index(entries: list[_Entry]) -> dict[str, _Entry]:
    """Entries by section and key; a key met again in a set is told apart ('x[2]')."""
    index: dict[str, _Entry] = {}
    for entry in entries:
        ident = _unused(f"{entry.section} {entry.key}", index)
        index[ident] = _Entry(entry.section, ident.split(" ", 1)[1], entry.file, entry.body)
    return index


def _unused(label: str, taken: Container[str]) -> str:
    """`label`, or `label[2]`, `label[3]`... when it is taken."""
    key, count = label, 1
    while key in taken:
        count += 1
        key = f"{label}[{count}]"
    return key


def _compare(before: Mapping[str, _Entry], after: Mapping[str, _Entry]) -> list[RuleChange]:
    changes: list[RuleChange] = []
    for ident in before.keys() | after.keys():
        old, new = before.get(ident), after.get(ident)
        if old is None and new is not None:
            changes.append(RuleChange(ADDED, new.section, new.key, new.file, None,
                                      _whole(new.body, added=True)))
        elif new is None and old is not None:
            changes.append(RuleChange(REMOVED, old.section, old.key, old.file, None,
                                      _whole(old.body, added=False)))
        elif old is not None and new is not None:
            fields = tuple(_diff("", old.body, new.body))
            if old.file != new.file:
                changes.append(RuleChange(MOVED, new.section, new.key, new.file, old.file, fields))
            elif fields:
                changes.append(RuleChange(CHANGED, new.section, new.key, new.file, None, fields))
    return changes


def _diff(path: str, old: Any, new: Any) -> list[FieldChange]:
    """The fields that differ: mappings key by key, lists of named mappings name by name."""
    if _same(old, new):
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return [change for key in _union(old, new)
                for change in _diff(_join(path, key), old.get(key), new.get(key))]
    if isinstance(old, list) and isinstance(new, list):
        old_items, new_items = _keyed(old), _keyed(new)
        if old_items is not None and new_items is not None:
            return [change for key in _union(old_items, new_items)
                    for change in _diff(_join(path, key), old_items.get(key), new_items.get(key))]
    return [FieldChange(path, old, new)]


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """A list of mappings by the name of each item, or None when an item has no name."""
    result: dict[str, Any] = {}
    for item in items:
        named = _item_name(item)
        if named is None:
            return None
        label, body = named
        result[_unused(label, result)] = body
    return result


def _item_name(item: Any) -> tuple[str, Any] | None:
    """A condition by its fact, an entry by its id or name, an effect or a group by its word."""
    if not isinstance(item, Mapping):
        return None
    for field in ID_FIELDS:
        if isinstance(item.get(field), str):
            return item[field], item
    if len(item) != 1:
        return None
    ((word, body),) = item.items()
    if isinstance(body, Mapping):
        for field in EFFECT_ID_FIELDS:
            if isinstance(body.get(field), str):
                return f"{word}[{body[field]}]", body
    return word, body


def _union(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [*new, *(key for key in old if key not in new)]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _same(old: Any, new: Any) -> bool:
    """Equal values, whatever the order of mapping keys; yes/no never equals a number."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return old.keys() == new.keys() and all(_same(old[key], new[key]) for key in old)
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, Mapping | list) or isinstance(new, Mapping | list):
        return False
    return bool(old == new)


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, Mapping | list) for v in value)


def _items_apart(old: list[Any], new: list[Any]) -> tuple[list[Any], list[Any]]:
    """The items only the new list holds, and those only the old list holds."""
    remaining = list(old)
    added: list[Any] = []
    for item in new:
        match = next((n for n, kept in enumerate(remaining) if _same(kept, item)), None)
        if match is None:
            added.append(item)
        else:
            del remaining[match]
    return added, remaining


def _whole(body: Any, *, added: bool) -> tuple[FieldChange, ...]:
    """Every field of an entry that came or went."""
    fields = body.items() if isinstance(body, Mapping) else [("", body)]
    return tuple(FieldChange(path, None, value) if added else FieldChange(path, value, None)
                 for path, value in fields if value is not None)


def _summary(fields: tuple[FieldChange, ...]) -> str:
    """What an entry that came or went is, in a few words: its name or description."""
    values = {field.path: field.old if field.new is None else field.new for field in fields}
    for name in SUMMARY_FIELDS:
        if isinstance(values.get(name), str) and values[name]:
            return str(values[name])
    if "" in values:
        return _show(values[""])
    rest = {path: value for path, value in values.items() if path not in IDENTITY_FIELDS}
    return _show(rest) if rest else ""


def _show(value: Any, *, nested: bool = False) -> str:
    """A value as it is written in a rule file: dates as ISO, decimals with their digits."""
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v, nested=True)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(item, nested=True) for item in value) + "]"
    if isinstance(value, str):
        plain = value == value.strip() and "\n" not in value and _reads_as_text(value)
        if plain and not (nested and any(mark in value for mark in QUOTED_WHEN)):
            return value
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _reads_as_text(value: str) -> bool:
    """Whether YAML reads the value unquoted as text, not as a number, date, yes/no or null."""
    resolvers = yaml.SafeLoader.yaml_implicit_resolvers.get(value[:1], [])
    return not any(pattern.match(value) for _tag, pattern in resolvers)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, decimals as their written digits."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _change_dict(change: RuleChange) -> dict[str, Any]:
    result: dict[str, Any] = {
        "kind": change.kind,
        "section": change.section,
        "key": change.key,
        "file": change.file,
        "old_file": change.old_file,
        "fields": [{"path": field.path, "old": _plain(field.old), "new": _plain(field.new),
                    "words": field.words()} for field in change.fields],
        "words": change.words(),
    }
    if change.kind == UNREADABLE:
        result["reason"] = change.reason
    return result
