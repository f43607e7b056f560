"""Rule versions: a checked set becomes a new version, in force now or from a stated instant
(the set in force stays otherwise); a scheduled version can be cancelled before its instant; a
rollback makes an earlier version's exact content the rules in force again. An empty database
starts with the bundled rules. Every change is in the audit log, with who, why and the diff."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from loyalty import engine as rule_engine
from loyalty.config import Settings
from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import (
    ApprovalRequired,
    ChangeRefused,
    RulesInvalid,
    UnknownRulesVersion,
    ValidationFailed,
)
from loyalty.engine import Problem
from loyalty.engine.limits import screen_files
from loyalty.packs import DEFAULT_PACK, pack_dir
from loyalty.services import audit
from loyalty.services.audit import SYSTEM, Actor
from loyalty.services.context import ServiceContext, utcnow
from loyalty.services.rehearsal import rehearse
from loyalty.services.rule_diff import RuleDiff, diff_files
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

log = logging.getLogger(__name__)

#: A scheduled instant must leave every process time to learn of it: the rules refresh
#: interval plus this margin.
SCHEDULE_MARGIN = timedelta(seconds=1)


#: Diffs kept, by the contents compared: an activation's is computed before its transaction.
MAX_DIFFS = 8
_diffs: OrderedDict[tuple[str, str], RuleDiff] = OrderedDict()
_diffs_lock = threading.Lock()
Prepare = Callable[[Mapping[str, str], str], RuleBook]


def check_problems(files: Mapping[str, str], at: datetime | None = None) -> list[Problem]:
    """Every problem of a candidate rule set; empty when it is valid. The files are screened
    (sizes, text) here, then checked (syntax, values, the engine) and, when nothing is wrong,
    rehearsed in force from `at` (default: now) in a child process: what the till and the
    sweep do, run on them in a scratch service (services/rehearsal.py)."""
    return screen_files(files) or rehearse(files, at)


def check_files(files: Mapping[str, str], at: datetime | None = None) -> list[str]:
    """Every problem of a candidate rule set, as text (see `check_problems`)."""
    return [str(problem) for problem in check_problems(files, at)]


def require_valid(files: Mapping[str, str], at: datetime | None = None) -> None:
    """Refuse (RulesInvalid, every problem listed) a set with problems: nothing is activated."""
    problems = check_files(files, at)
    if problems:
        raise RulesInvalid(f"{len(problems)} problem(s) in the rule files; nothing was activated",
                           details={"problems": problems})


def require_storable(files: Mapping[str, str]) -> None:
    """Refuse (RulesInvalid) a set too large to keep, or with text that cannot be stored: such
    a set is not kept even as a draft."""
    problems = screen_files(files)
    if problems:
        raise RulesInvalid(f"{len(problems)} problem(s) in the rule files; nothing was stored",
                           details={"problems": [str(problem) for problem in problems]})


@dataclass(frozen=True)
class Activation:
    """What is asked: these files in force now (`effective_at` None) or from an instant."""

    files: Mapping[str, str]
    actor: Actor
    reason: str
    now: datetime
    effective_at: datetime | None = None
    draft_id: str | None = None
    restores: int | None = None


def minimum_lead(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.rules_refresh_seconds) + SCHEDULE_MARGIN


#: Before the first version took effect, the first version governs (there was nothing else).
BEGINNING = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Order:
    """Which version is in force when. A version activated now is in force from the moment a
    process learns of it; a scheduled version takes over at its instant. Each has a key
    instant (when it was activated, or its scheduled instant): in force at `at` is the version
    with the latest key among those activated now and those scheduled for `at` or before (the
    newer number on a tie). The first version's key is the beginning of time."""

    keys: tuple[tuple[datetime, int], ...]  # every live version's (key, number), in order
    scheduled: frozenset[int]

    @classmethod
    def of(cls, rows: Sequence[Any]) -> Order:
        """From rows with `version`, `activated_at`, `effective_at` and `cancelled_at`."""
        live = sorted((r for r in rows if r.cancelled_at is None), key=lambda r: r.version)
        if not live:
            return cls((), frozenset())
        first = live[0].version
        keys = sorted((BEGINNING if r.version == first else r.effective_at, r.version)
                      for r in live)
        scheduled = frozenset(r.version for r in live
                              if r.version != first and r.effective_at > r.activated_at)
        return cls(tuple(keys), scheduled)

    def in_force(self, at: datetime) -> int | None:
        """The version in force at `at`."""
        for key, version in reversed(self.keys):
            if version not in self.scheduled or key <= at:
                return version
        return None

    def upcoming(self, at: datetime) -> list[tuple[datetime, int]]:
        """The scheduled versions that take over after `at`, soonest first."""
        now = self.in_force(at)
        found: list[tuple[datetime, int]] = []
        passed = False
        for key, version in self.keys:
            passed = passed or version == now
            if passed and version in self.scheduled and key > at:
                found.append((key, version))
        return found

    def started(self, version: int) -> datetime | None:
        """The key instant of a live version (None: cancelled or unknown)."""
        for key, number in self.keys:
            if number == version:
                return key
        return None


class Timeline:
    """The versions stored, read once in a unit of work: which is in force at an instant."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.rows = {row.version: row for row in uow.programme.rule_versions()}
        self.order = Order.of(list(self.rows.values()))

    def in_force(self, at: datetime) -> int | None:
        return self.order.in_force(at)

    def upcoming(self, at: datetime) -> list[tuple[datetime, int]]:
        return self.order.upcoming(at)

    @property
    def latest(self) -> int | None:
        return max(self.rows) if self.rows else None

    def status(self, version: int, now: datetime) -> str:
        """in force, scheduled, cancelled, or superseded (in force once, or never reached)."""
        row = self.rows[version]
        if row.cancelled_at is not None:
            return "cancelled"
        if self.order.in_force(now) == version:
            return "in force"
        upcoming = {number for _, number in self.order.upcoming(now)}
        return "scheduled" if version in upcoming else "superseded"


def approval_required(uow: SqlUnitOfWork, timeline: Timeline, now: datetime) -> bool:
    """Whether the rules in force ask for a second person's approval of a new version."""
    version = timeline.in_force(now)
    if version is None:
        return False
    row = uow.programme.rule_version(version)
    assert row is not None
    return rule_engine.program_policy(dict(row.files)).approval_required


def activate_files(uow: SqlUnitOfWork, files: Mapping[str, str], actor: Actor | str, *,
                   reason: str, now: datetime | None = None,
                   effective_at: datetime | None = None, draft_id: str | None = None,
                   restores: int | None = None, settings: Settings | None = None,
                   prepare: Prepare | None = None) -> dict[str, Any]:
    """Store a checked set of files as the next version, in force now or from `effective_at`;
    files equal to the version that would be in force then make no new one. The files are
    checked and rehearsed first (a set with problems is refused, RulesInvalid); callers do that
    before their transaction (`require_valid`), so that here it is remembered, not redone.
    `prepare` compiles the new version (the rule books' `prepare`, which keeps the book for the
    process). The caller has settled who may do this (approval); the audit record is written
    here."""
    request = Activation(files, actor if isinstance(actor, Actor) else Actor(actor, "system"),
                         reason, now or utcnow(), effective_at, draft_id, restores)
    return _activate(uow, request, settings or Settings(), prepare)


def prepare_ahead(uow: SqlUnitOfWork, files: Mapping[str, str], prepare: Prepare | None,
                  at: datetime) -> None:
    """Compile `files` as the version number an activation would give them now, and their
    diff against the version in force at `at`, so that the activation's transaction (which
    holds SQLite's writers back) finds both done."""
    if prepare is not None:
        prepare(files, str((uow.programme.latest_rule_version_number() or 0) + 1))
    diff_for(_files(uow, Timeline(uow).in_force(at)), files)


def diff_for(old: Mapping[str, str], new: Mapping[str, str]) -> RuleDiff:
    """The diff of two sets, kept for the next caller asking the same (a large set takes
    seconds to compare)."""
    key = (rule_engine.rules_content_hash(old), rule_engine.rules_content_hash(new))
    with _diffs_lock:
        found = _diffs.get(key)
    if found is None:
        found = diff_files(old, new)
        with _diffs_lock:
            _diffs[key] = found
            while len(_diffs) > MAX_DIFFS:
                _diffs.popitem(last=False)
    return found


def _activate(uow: SqlUnitOfWork, request: Activation, settings: Settings,
              prepare: Prepare | None = None) -> dict[str, Any]:
    files = dict(request.files)
    require_valid(files, request.effective_at or request.now)
    uow.programme.lock_rule_versions()
    timeline = Timeline(uow)
    now = request.now
    if request.effective_at is not None and request.effective_at < now + minimum_lead(settings):
        seconds = minimum_lead(settings).total_seconds()
        raise ValidationFailed.on_fields({"at": [
            f"A scheduled start must be at least {seconds:g} seconds ahead of the moment the "
            "checked rules are stored (checking and rehearsing a new set takes a second or "
            "two before that), so that every till switches at that instant; to start now, "
            "activate without a time."]})
    when = request.effective_at or now
    before = timeline.in_force(when)
    content_hash = rule_engine.rules_content_hash(files)
    if before is not None:
        current = uow.programme.rule_version(before)
        assert current is not None
        if current.content_hash == content_hash:
            return {**version_view(current, timeline.status(before, now)), "changed": False}
    if request.effective_at is None and before is not None:
        start = timeline.order.started(before)
        if start is not None and start > when:  # a clock behind the one that activated it
            when = start
    version = (timeline.latest or 0) + 1
    (prepare or rule_engine.build_rulebook)(files, str(version))  # compiles, probes
    values = {"version": version, "content_hash": content_hash, "files": files,
              "activated_at": now, "activated_by": request.actor.name, "effective_at": when,
              "reason": request.reason, "draft_id": request.draft_id,
              "restores": request.restores}
    uow.programme.add_rule_version(values)
    if request.draft_id is not None:  # the draft became this version
        uow.workflow.update_draft(request.draft_id, version=version, updated_at=now,
                                  status="scheduled" if request.effective_at else "activated")
    change = diff_for(_files(uow, before), files)
    action = ("rules.rolled_back" if request.restores is not None
              else "rules.scheduled" if request.effective_at is not None else "rules.activated")
    audit.record(uow, request.actor, action, now, subject=f"version {version}",
                 reason=request.reason, details={
                     "version": version, "content_hash": content_hash, "replaces": before,
                     "effective_at": iso(when), "draft_id": request.draft_id,
                     "restores": request.restores, "diff": change.lines()})
    log.info("%s rules version %s (%s) by %s, in force from %s", action, version,
             content_hash[:10], request.actor, when)
    status = "scheduled" if request.effective_at is not None else "in force"
    result = {**version_view(values, status), "changed": True, "replaces": before,
              "diff": change.as_dict()}
    later = timeline.upcoming(when)
    if later:
        result["warnings"] = [f"version {v} is scheduled for {iso(at)} and will replace these "
                              "rules then" for at, v in later]
    return result


def _files(uow: SqlUnitOfWork, version: int | None) -> dict[str, str]:
    row = None if version is None else uow.programme.rule_version(version)
    return {} if row is None else dict(row.files)


def cancel(uow: SqlUnitOfWork, version: int, actor: Actor, reason: str,
           now: datetime) -> dict[str, Any]:
    """Call off a scheduled version before its instant."""
    timeline = Timeline(uow)
    if version not in timeline.rows:
        raise UnknownRulesVersion(f"no rules version {version}", details={"version": version})
    status = timeline.status(version, now)
    if status != "scheduled":
        raise ChangeRefused(f"version {version} is {status}: only a scheduled version can be "
                            "cancelled (to undo a version in force, roll back)",
                            details={"version": version, "status": status})
    uow.programme.cancel_rule_version(version, now, actor.name)
    audit.record(uow, actor, "rules.cancelled", now, subject=f"version {version}",
                 reason=reason, details={"version": version,
                                         "effective_at": iso(timeline.rows[version].effective_at)})
    row = uow.programme.rule_version(version)
    return {**version_view(row, "cancelled"), "changed": True}


def rollback(uow: SqlUnitOfWork, version: int, actor: Actor, reason: str, now: datetime,
             settings: Settings, prepare: Prepare | None = None) -> dict[str, Any]:
    """Make version `version`'s exact content the rules in force, as a new version."""
    row = uow.programme.rule_version(version)
    if row is None:
        raise UnknownRulesVersion(f"no rules version {version}", details={"version": version})
    return _activate(uow, Activation(dict(row.files), actor, reason, now, restores=version),
                     settings, prepare)


def refuse(ctx: ServiceContext, actor: Actor, what: str, error: ChangeRefused) -> None:
    """Record a refused change in the audit log (its own transaction) with its reason."""
    audit.record_alone(ctx, actor, "rules.refused", subject=what, reason=error.message,
                       details={"code": error.code, **error.details})


def first_rules(settings: Settings) -> tuple[Path, str] | None:
    """The folder a database with no rules starts from, and why: the rules folder when it
    exists; with the setting left at its default and no such folder (an installed copy run
    from an empty folder), the default pack; otherwise none."""
    folder = Path(settings.rules_dir)
    if folder.is_dir():
        return folder, "the bundled rules, on first start"
    if settings.rules_dir == Settings.rules_dir:
        return pack_dir(DEFAULT_PACK), f"the {DEFAULT_PACK} pack, on first start"
    return None


def bootstrap(engine: Engine, settings: Settings, *, prepare: Prepare | None = None,
              pack: str | None = None) -> bool:
    """On a database with no rules yet, activate `pack`, or else the rules folder (see
    `first_rules`). Whether a version was activated."""
    if pack is not None:
        start: tuple[Path, str] | None = (pack_dir(pack), f"the {pack} pack, by loyalty init")
    else:
        start = first_rules(settings)
    if start is None:
        return False
    folder, reason = start
    files = rule_engine.read_rule_dir(folder)
    require_valid(files)  # before the transaction: the rehearsal takes a second or so

    def attempt() -> bool:
        with SqlUnitOfWork(engine) as uow:
            if uow.programme.latest_rule_version_number() is not None:
                return False
            activate_files(uow, files, SYSTEM, reason=reason, settings=settings,
                           prepare=prepare)
            uow.commit()
            return True

    return run_with_retry(attempt, retries=settings.max_retries)


def require_approval_ok(uow: SqlUnitOfWork, now: datetime, *, draft: Any | None) -> None:
    """Refuse (ApprovalRequired) when the rules in force ask for approval and `draft` is not an
    approved draft."""
    if draft is not None and draft.status == "approved":
        return
    if approval_required(uow, Timeline(uow), now):
        raise ApprovalRequired(
            "the rules in force require a second person's approval: upload the files as a "
            "draft, submit it, and have a marketing lead or an administrator who did not "
            "write it approve it; then activate the draft")


def version_view(row: Any, status: str | None = None) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    view = {"version": get("version"), "content_hash": get("content_hash"),
            "activated_at": iso(get("activated_at")), "activated_by": get("activated_by"),
            "effective_at": iso(get("effective_at")), "reason": get("reason"),
            "draft_id": get("draft_id"), "restores": get("restores"),
            "cancelled_at": iso(get("cancelled_at")) if not isinstance(row, dict)
            else None, "cancelled_by": get("cancelled_by") if not isinstance(row, dict)
            else None}
    if status is not None:
        view["status"] = status
    return view
