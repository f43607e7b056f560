"""Rule versions: check, activate (only a valid set, the set in force stays otherwise), list,
read, and explain what a set would decide for a member without recording anything."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from loyalty import engine as rule_engine
from loyalty.config import Settings
from loyalty.domain.commands import RecordEvent, RecordTransaction
from loyalty.domain.decisions import RuleBook
from loyalty.domain.effects import resolve_points
from loyalty.domain.errors import RulesInvalid, UnknownMember, UnknownRulesVersion
from loyalty.domain.model import EvaluationInput
from loyalty.services.context import ServiceContext, utcnow
from loyalty.services.events import event_occurrence
from loyalty.services.outcome import decision_view
from loyalty.services.timing import iso
from loyalty.services.transactions import purchase_occurrence
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

log = logging.getLogger(__name__)


def check_files(files: Mapping[str, str]) -> list[str]:
    """Every problem of a candidate rule set, as text; empty when it is valid."""
    return [str(problem) for problem in rule_engine.check_rules(files)]


def _activate(uow: SqlUnitOfWork, files: Mapping[str, str], activated_by: str) -> dict[str, Any]:
    problems = check_files(files)
    if problems:
        raise RulesInvalid(f"{len(problems)} problem(s) in the rule files; nothing was activated",
                           details={"problems": problems})
    content_hash = rule_engine.rules_content_hash(files)
    latest = uow.programme.latest_rule_version_number()
    if latest is not None:
        current = uow.programme.rule_version(latest)
        if current is not None and current.content_hash == content_hash:
            return {**_version_view(current), "changed": False}
    version = (latest or 0) + 1
    rule_engine.build_rulebook(dict(files), str(version))  # compiles and probes in the engine
    values = {"version": version, "content_hash": content_hash, "files": dict(files),
              "activated_at": utcnow(), "activated_by": activated_by}
    uow.programme.add_rule_version(values)
    log.info("activated rules version %s (%s) by %s", version, content_hash[:10], activated_by)
    return {**_version_view(values), "changed": True}


def activate(ctx: ServiceContext, files: Mapping[str, str] | None,
             activated_by: str) -> dict[str, Any]:
    """Make `files` (default: the rules directory) the rules in force, as a new version."""
    files = dict(files) if files is not None else rule_engine.read_rule_dir(ctx.settings.rules_dir)

    def attempt() -> dict[str, Any]:
        with ctx.uow() as uow:
            result = _activate(uow, files, activated_by)
            uow.commit()
        return result

    result = run_with_retry(attempt, retries=ctx.settings.max_retries)
    ctx.rules.invalidate()
    return result


def bootstrap(engine: Engine, settings: Settings) -> None:
    """On a database with no rules yet, activate the bundled rules directory."""
    if not Path(settings.rules_dir).is_dir():
        return
    files = rule_engine.read_rule_dir(settings.rules_dir)

    def attempt() -> None:
        with SqlUnitOfWork(engine) as uow:
            if uow.programme.latest_rule_version_number() is None:
                _activate(uow, files, "bootstrap")
                uow.commit()

    run_with_retry(attempt, retries=settings.max_retries)


def _version_view(row: Any) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {"version": get("version"), "content_hash": get("content_hash"),
            "activated_at": iso(get("activated_at")), "activated_by": get("activated_by")}


def list_versions(ctx: ServiceContext) -> list[dict[str, Any]]:
    with ctx.uow(read_only=True) as uow:
        rows = uow.programme.rule_versions()
    newest = rows[0].version if rows else None
    return [{**_version_view(r), "active": r.version == newest} for r in rows]


def get_version(ctx: ServiceContext, version: int) -> dict[str, Any]:
    with ctx.uow(read_only=True) as uow:
        row = uow.programme.rule_version(version)
        latest = uow.programme.latest_rule_version_number()
    if row is None:
        raise UnknownRulesVersion(f"no rules version {version}", details={"version": version})
    return {**_version_view(row), "active": version == latest, "files": dict(row.files)}


def explain(ctx: ServiceContext, member_id: str, command: RecordTransaction | RecordEvent,
            files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Which rules would fire for this member and occurrence, with the points of each award.

    Uses candidate `files` when given (checked first), else the rules in force. Nothing is
    recorded, and per-member limits and budgets are not consulted.
    """
    if files is not None:
        problems = check_files(files)
        if problems:
            raise RulesInvalid(f"{len(problems)} problem(s) in the candidate rule files",
                               details={"problems": problems})
        book: RuleBook = rule_engine.build_rulebook(dict(files), "candidate")
    else:
        book = ctx.rules.current()
    if isinstance(command, RecordTransaction):
        occurrence = purchase_occurrence(command)
    else:
        occurrence = event_occurrence(command)
    with ctx.uow(read_only=True) as uow:
        member = uow.members.get(member_id)
        if member is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        stats = uow.transactions.stats(member, occurrence.occurred_at)
        snapshot = EvaluationInput(occurrence, uow.members.to_domain(member), stats,
                                   occurrence.occurred_at)
    decisions = book.evaluate(snapshot)
    points = resolve_points(decisions, occurrence)
    return {
        "ruleset_version": book.version,
        "decisions": [decision_view(d, points.get(i)) for i, d in enumerate(decisions)],
        "lines": rule_engine.explain(decisions, points),
    }
