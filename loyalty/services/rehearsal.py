"""Rehearsing a candidate rule set before it becomes a version: the till's and the sweep's own
code run on it, in a child process, against a scratch database.

The child checks the files (rulebook.check_rules: syntax, values, limits, the engine) and, if
nothing is wrong, stores them as the only version of an in-memory SQLite database and goes
through what tills and the daily sweep do, by the same service functions: an enrolment, a
purchase with lines of the categories and products the rules name, each event the programme
declares, a points adjustment and a redemption, a partial return, the sweep at instants that
reach pending points, the tier review, lifecycle stages and expiry, and a last purchase after
them. A refusal (not enough points, out of stock...) is an answer the till handles; anything
else that fails is a problem, placed at the rule that was being applied, or at the section of
program.yaml whose arithmetic failed, or else at program.yaml with the step that failed. Then
every text stored must fit the columns PostgreSQL gives it.

The engine memory the rehearsal takes, its compiling, and a crash of the engine stay in the
child; the child is replaced after a few rehearsals and stopped when idle. Results are kept per
content and day, so checking and then activating the same files rehearses them once.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from loyalty.domain.errors import LoyaltyError
from loyalty.engine import CompiledRuleBook, Problem, rules_content_hash
from loyalty.engine.probe import ChildWorker, ProbeFailed
from loyalty.engine.rulebook import analyse

log = logging.getLogger(__name__)

#: A rehearsal that has not finished by then is a problem (the bundled rules take under a
#: second); the child is replaced after this many rehearsals (the engine never frees a set).
TIMEOUT_SECONDS = 45.0
MAX_PER_CHILD = 20
#: The child (about 60 MB) is stopped when no rehearsal came for this long.
IDLE_SECONDS = 300.0
MAX_CACHED = 64
#: For tests of the rehearsal itself, never in production: set in the service's environment to
#: a step's name (e.g. `a purchase`), the rehearsal fails that step as broken code would; with
#: `:crash` after the name, the child process dies there as a crashed engine would.
FAULT_VARIABLE = "LOYALTY_TEST_REHEARSAL_FAULT"
CHILD_COMMAND = "from loyalty.services.rehearsal import main; main()"
#: The version number the candidate set has in the scratch database.
REHEARSED_VERSION = "1"
PROGRAM = "program.yaml"

_child = ChildWorker(CHILD_COMMAND, max_uses=MAX_PER_CHILD, timeout=TIMEOUT_SECONDS,
                     idle_seconds=IDLE_SECONDS)
atexit.register(_child.close)
_results: OrderedDict[str, list[Problem]] = OrderedDict()
_results_lock = threading.Lock()


def rehearse(files: Mapping[str, str], at: datetime | None = None) -> list[Problem]:
    """Every problem of `files` in force from `at` (default: now), found in the child: the
    static check (rulebook.check_rules), then, when it finds nothing, the rehearsal. Empty
    when the files are valid and everything the till and the sweep do ran on them. (Checking
    in the child also keeps the compiling it takes off this process's CPU.)"""
    at = at or datetime.now(UTC)
    fault = os.environ.get(FAULT_VARIABLE)
    key = f"{rules_content_hash(files)}:{at.date().isoformat()}:{fault}"
    with _results_lock:
        if key in _results:
            _results.move_to_end(key)
            return list(_results[key])
    reached: list[str] = []
    try:
        reply = _child.ask({"files": dict(files), "at": at.isoformat(), "fault": fault},
                           progress=lambda line: reached.append(str(line["progress"])))
    except ProbeFailed as error:  # not kept: the next try may find a healthy child
        step = reached[-1] if reached else "starting"
        return [Problem(program_file(files), None, None, f"rehearsing these rules, the process "
                        f"failed at {step} ({error}): the till or the sweep could fail the "
                        "same way")]
    problems = [Problem(**item) for item in reply.get("problems", [])]
    with _results_lock:
        _results[key] = problems
        while len(_results) > MAX_CACHED:
            _results.popitem(last=False)
    return list(problems)


def rehearse_here(files: Mapping[str, str], at: datetime,
                  progress: Callable[[str], None] = lambda step: None,
                  fault: str | None = None, book: CompiledRuleBook | None = None,
                  ) -> list[Problem]:
    """The rehearsal itself, in this process (the child runs it); `book`, the files compiled
    as REHEARSED_VERSION already, is handed to the scratch service as an activation would."""
    from loyalty.services.rehearsal_steps import Scratch, Skipped, steps  # a whole service

    scratch = Scratch(files, at, book)
    problems: list[Problem] = []
    try:
        for name, step in steps(scratch):
            progress(name)
            try:
                _inject(fault, name)
                step()
            except LoyaltyError as refused:  # an answer the till handles
                log.debug("rehearsal: %s refused: %s", name, refused.message)
            except Skipped:
                log.debug("rehearsal: %s skipped after an earlier failure", name)
            except Exception as error:
                problems.append(_problem(scratch, name, error))
                if not scratch.ready:  # nothing else can run without the rules and a member
                    break
        problems.extend(scratch.oversized_texts())
    finally:
        scratch.close()
    return _unique(problems)


def _inject(fault: str | None, step: str) -> None:
    """The fault a test asked for at this step (FAULT_VARIABLE), if any."""
    if fault == f"{step}:crash":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == step:
        raise RuntimeError(f"fault injected by {FAULT_VARIABLE}")


def _problem(scratch: Any, step: str, error: BaseException) -> Problem:
    """A failure as a problem, at the rule being applied or the policy section computing."""
    what = f"{type(error).__name__}: {error}"[:300]
    rule = _rule_in(error)
    if rule is not None:
        found = scratch.rule(rule)
        if found is not None:
            return Problem(found.file, found.line, found.id,
                           f"rehearsing these rules, {step} failed while applying this rule "
                           f"({what}): the till would fail the same way")
    section = _section_in(error)
    line = scratch.program_line(section) if section else None
    where = f" with the '{section}' settings" if section else ""
    return Problem(scratch.program_file, line, None,
                   f"rehearsing these rules, {step} failed{where} ({what}): the till or the "
                   "sweep would fail the same way")


def _frames(error: BaseException) -> Iterator[Any]:
    """The frames of a failure, innermost first."""
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    return reversed(frames)


def _rule_in(error: BaseException) -> str | None:
    """The id of the rule whose decision was being applied when `error` was raised."""
    from loyalty.domain.decisions import Decision

    for frame in _frames(error):
        for value in frame.f_locals.values():
            if isinstance(value, Decision):
                return value.rule_id
    return None


#: Where a policy's arithmetic lives, by module: the program.yaml section it reads.
SECTIONS = {
    "loyalty.services.timing": "points",
    "loyalty.services.sweep.points": "points",
    "loyalty.domain.ledger": "points",
    "loyalty.services.sweep.tiers": "tiers",
    "loyalty.domain.tiers": "tiers",
    "loyalty.services.sweep.lifecycle": "lifecycle",
    "loyalty.services.sweep.vip": "vip",
    "loyalty.services.sweep.important_dates": "important_dates",
}


def _section_in(error: BaseException) -> str | None:
    for frame in _frames(error):
        section = SECTIONS.get(str(frame.f_globals.get("__name__", "")))
        if section is not None:
            return section
    return None


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def program_file(files: Mapping[str, str]) -> str:
    """The name program.yaml has in a set (a problem of the whole set is placed there)."""
    return next((name for name in sorted(files) if PurePath(name).stem == "program"), PROGRAM)


def main() -> None:
    """The child: answer each JSON request line (files, instant, fault) with {"problems":
    [...]}: the static check's, else the rehearsal's; a {"progress": step} line before each
    step."""
    from loyalty.engine.probe import WORKER

    WORKER.in_process = True  # this process is the scratch: the engine is probed right here
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else written to stdout must not be mistaken for an answer

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, default=str) + "\n")
        out.flush()

    for raw in sys.stdin.buffer:
        request = json.loads(raw)
        at = datetime.fromisoformat(request["at"])
        send({"progress": "checking the rules"})
        files = request["files"]
        analysis = analyse(files, REHEARSED_VERSION)
        problems = analysis.problems or rehearse_here(
            files, at, lambda step: send({"progress": step}), request.get("fault"),
            book=CompiledRuleBook(REHEARSED_VERSION, rules_content_hash(files), analysis))
        send({"problems": [asdict(problem) for problem in problems]})
