"""How much a set of rule files may hold, and the checks every path applies before reading it.

A set beyond these limits is refused with a problem naming the file (and the line, where there
is one), whether it comes from a folder, the API or a draft: it would take the service seconds
to read and compile, and every worker compiles each version it serves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath

from loyalty.engine.problems import Problem

#: The largest rule file, in bytes of UTF-8 (the bundled files are under 4 KiB each).
MAX_FILE_BYTES = 256 * 1024
#: All the files of one set together, in bytes of UTF-8.
MAX_SET_BYTES = 1024 * 1024
#: Files in one set.
MAX_FILES = 64
#: Rules in one set, all files together (each event type also holds at most 400; compiler.py).
MAX_RULES = 2_000
#: How deeply mappings and lists may nest in one file (a rule with conditions in groups
#: within groups needs about twenty).
MAX_DEPTH = 40
#: The nesting a version stored before that limit may have (composing YAML is recursive).
STORED_DEPTH = 100
#: The longest file name.
MAX_NAME = 100
#: The longest name of each kind a rule file declares, as the database keeps it
#: (store/tables.py): a longer one would be refused by PostgreSQL at the till. A campaign's
#: budget is counted under "campaign:" and its name, in a column of 100.
CAMPAIGN_PREFIX = "campaign:"
LONGEST = {"reward": 64, "offer": 64, "privilege": 64, "notification": 64, "tier": 40,
           "campaign": 100 - len(CAMPAIGN_PREFIX), "event": 40, "channel": 40, "store": 64,
           "sku": 64, "category": 64}
FOLDER = "(rule folder)"
SUFFIXES = (".yaml", ".yml")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def size_words(size: int) -> str:
    """A size in bytes, in the unit a person reads it in."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


def too_long(kind: str, name: str) -> str | None:
    """Why `name` cannot be a `kind`'s name (too long), or None."""
    longest = LONGEST[kind]
    if len(name) <= longest:
        return None
    return f"the {kind} name '{name[:20]}...' is {len(name)} characters long, at most {longest}"


def line_of_offset(text: str, offset: int) -> int:
    """The 1-based line of a character offset."""
    return text.count("\n", 0, offset) + 1


def screen_files(files: Mapping[str, str]) -> list[Problem]:
    """Problems that stop a set before it is read: too many files, a file or the set too large,
    a name that is not a rule file's, text that cannot be stored (NUL characters, halves of
    UTF-16 pairs). A set with any of these is not stored, even as a draft."""
    problems: list[Problem] = []
    if len(files) > MAX_FILES:
        problems.append(Problem(FOLDER, None, None,
                                f"{len(files)} files: a rule set holds at most {MAX_FILES}"))
    total = 0
    for name in sorted(files):
        text = files[name]
        if (len(name) > MAX_NAME or PurePath(name).name != name
                or not name.endswith(SUFFIXES) or name.startswith(".")):
            problems.append(Problem(FOLDER, None, None, f"{name[:MAX_NAME]!r} is not a rule file "
                                    f"name: a name ending in .yaml (at most {MAX_NAME} "
                                    "characters, no folder)"))
            continue
        unstorable = _unstorable(name, text)
        if unstorable is not None:
            problems.append(unstorable)
            continue
        size = len(text.encode("utf-8"))
        total += size
        if size > MAX_FILE_BYTES:
            problems.append(Problem(name, None, None, f"file too large: {size_words(size)}, "
                                    f"a rule file holds at most {size_words(MAX_FILE_BYTES)}"))
    if total > MAX_SET_BYTES:
        problems.append(Problem(FOLDER, None, None, f"rule set too large: {size_words(total)} "
                                f"in all, at most {size_words(MAX_SET_BYTES)}"))
    return problems


def _unstorable(name: str, text: str) -> Problem | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    line = line_of_offset(text, found.start())
    if found.group() == "\x00":
        return Problem(name, line, None, "a NUL character: rule files are plain text")
    return Problem(name, line, None,
                   f"not UTF-8 text: a lone surrogate {ord(found.group()):#06x}")
