"""Problems found in rule files, each tied to a file, a line and a rule."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loyalty.engine.known_values import KnownValues


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


def did_you_mean(word: str, choices: Iterable[str], *, ignore_case: bool = False) -> str:
    """A ' (did you mean ...?)' hint for a misspelt word, or ''; with `ignore_case`, the
    words are compared casefolded and the hint keeps the choice's own spelling."""
    options = {(choice.casefold() if ignore_case else choice): choice for choice in choices}
    wanted = word.casefold() if ignore_case else word
    close = difflib.get_close_matches(wanted, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{options[close[0]]}'?)" if close else ""


@dataclass
class Reporter:
    """Collects problems for one file, remembering the rule being read, the events it reacts
    to, and what the programme declares (None: nothing is known of it)."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    rule_id: str | None = None
    declared: list[str] = field(default_factory=list)
    known: KnownValues | None = None
    events: tuple[str, ...] = ()
    #: whether the limits on new sets apply (name lengths); a stored version is read without
    #: them, as it was activated
    limits: bool = True

    def add(self, line: int | None, message: str) -> None:
        """Record one problem at a line of the current file."""
        self.problems.append(Problem(self.file, line, self.rule_id, message))
