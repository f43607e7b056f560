"""The parsed form of rule files: conditions, effects and rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Union

from loyalty.domain.decisions import Effect, Holdout, Limit

OPERATORS = (
    "is",
    "is_not",
    "above",
    "at_least",
    "below",
    "at_most",
    "between",
    "in",
    "not_in",
    "exists",
    "contains",
    "starts_with",
)
_NUMBER_OPS = ("is", "is_not", "above", "at_least", "below", "at_most", "between", "in", "not_in")
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "money": (*_NUMBER_OPS, "exists"),
    "number": (*_NUMBER_OPS, "exists"),
    "integer": (*_NUMBER_OPS, "exists"),
    "date": (*_NUMBER_OPS, "exists"),
    "text": ("is", "is_not", "in", "not_in", "starts_with", "exists"),
    "weekday": ("is", "is_not", "in", "not_in", "exists"),
    "yes/no": ("is", "is_not", "exists"),
    "list": ("contains",),
    "attribute": (*_NUMBER_OPS, "exists"),
}
GROUPS = ("all", "any", "none")
LINE_GROUPS = ("any_line", "all_lines")


@dataclass(frozen=True)
class Compare:
    """`fact <op> value`; value is normalised (Decimal, int, str, bool, or a tuple of them).

    `kind` is the fact type of an event attribute, as the programme declares it; `line` is
    where the test is written.
    """

    path: str
    op: str
    value: Any
    kind: str | None = None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Group:
    """all / any / none of the conditions."""

    kind: str
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Lines:
    """any_line / all_lines: a condition over the lines of a purchase."""

    kind: str
    cond: Condition


Condition = Union[Compare, Group, Lines]  # noqa: UP007


def compares(cond: Condition | None) -> list[Compare]:
    """Every test of a condition, in the order written."""
    if cond is None:
        return []
    if isinstance(cond, Compare):
        return [cond]
    if isinstance(cond, Lines):
        return compares(cond.cond)
    return [test for item in cond.items for test in compares(item)]


@dataclass(frozen=True)
class EffectDef:
    """One effect of a rule, with its line filter when the award is on matching lines only."""

    effect: Effect
    on_lines: Condition | None = None
    line: int | None = None


@dataclass(frozen=True)
class RuleDef:
    """One rule as read from a file."""

    id: str
    description: str
    ruleset: str
    file: str
    line: int | None
    position: int
    priority: int
    events: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None
    when: Condition | None
    effects: tuple[EffectDef, ...]
    limit: Limit | None = None
    campaign: str | None = None
    #: a control group held back from the rule's effects, to measure what the rule brings
    holdout: Holdout | None = None

    @property
    def sort_key(self) -> tuple[int, str, int]:
        """Application order: priority, then file name, then position in the file."""
        return (self.priority, self.file, self.position)
