"""Problems found in rule files, each tied to a file, a line and a rule."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a rule file, where it is, and which rule it belongs to."""

    file: str
    line: int | None
    rule_id: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        who = f" rule '{self.rule_id}':" if self.rule_id else ""
        return f"{where}:{who} {self.message}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt word, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass
class Reporter:
    """Collects problems for one file, remembering the rule being read."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    rule_id: str | None = None
    declared: list[str] = field(default_factory=list)

    def add(self, line: int | None, message: str) -> None:
        """Record one problem at a line of the current file."""
        self.problems.append(Problem(self.file, line, self.rule_id, message))
