"""Rule versions: check, activate (only a valid set, the set in force stays otherwise), list,
read, and explain what a set would decide for a member without recording anything."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from loyalty import engine as rule_engine
from loyalty.config import Settings
from loyalty.domain.commands import RecordEvent, RecordTransaction
from loyalty.domain.decisions import Decision, RuleBook
from loyalty.domain.effects import resolve_points
from loyalty.domain.errors import (
    RulesInvalid,
    UnknownMember,
    UnknownRulesVersion,
    UnknownTransaction,
    ValidationFailed,
)
from loyalty.domain.model import EvaluationInput, Line, Occurrence
from loyalty.services.context import ServiceContext, utcnow
from loyalty.services.events import event_occurrence
from loyalty.services.limits import period_key
from loyalty.services.outcome import decision_view
from loyalty.services.timing import iso
from loyalty.services.transactions import purchase_occurrence
from loyalty.store import tables as t
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


def rule_book(ctx: ServiceContext | None, *, version: int | None = None,
              files: Mapping[str, str] | None = None) -> RuleBook:
    """Candidate `files` (checked first), else a stored `version`, else the rules in force."""
    if files is not None:
        problems = check_files(files)
        if problems:
            raise RulesInvalid(f"{len(problems)} problem(s) in the candidate rule files",
                               details={"problems": problems})
        return rule_engine.build_rulebook(dict(files), "candidate")
    assert ctx is not None, "a stored or active version needs the database"
    if version is not None:
        stored = get_version(ctx, version)
        return rule_engine.build_rulebook(stored["files"], str(version))
    return ctx.rules.current()


def stored_occurrence(ctx: ServiceContext, *, transaction_id: str | None = None,
                      event_id: str | None = None) -> tuple[Occurrence, str, list[str]]:
    """A recorded purchase or event rebuilt for the engine, its member, and what is missing."""
    with ctx.uow(read_only=True) as uow:
        if transaction_id is not None:
            row = uow.transactions.get(transaction_id)
            if row is None:
                raise UnknownTransaction(f"no transaction {transaction_id!r}",
                                         details={"transaction_id": transaction_id})
            lines = tuple(Line(x.sku, x.category, x.quantity, x.unit_price)
                          for x in uow.transactions.lines(transaction_id))
            occurrence = Occurrence(
                kind=row.type, source_id=row.transaction_id, occurred_at=row.occurred_at,
                total=sum((x.amount for x in lines), start=Decimal("0")), lines=lines,
                store_id=row.store_id, channel=row.channel, currency=row.currency,
            )
            notes = ["payment methods and offer codes are not stored with a purchase: "
                     "event.payment_methods and offers.presented are taken as empty"]
            return occurrence, row.member_id, notes
        assert event_id is not None
        event = uow.connection.execute(
            select(t.events).where(t.events.c.event_id == event_id)).first()
        if event is None:
            raise ValidationFailed(f"no event {event_id!r}", details={"event_id": event_id})
        occurrence = Occurrence(kind=event.type, source_id=event.event_id,
                                occurred_at=event.occurred_at,
                                attributes=dict(event.attributes or {}))
        return occurrence, event.member_id, []


def explain_snapshot(book: RuleBook, snapshot: EvaluationInput,
                     usage: Mapping[tuple[str, str], int] | None = None) -> dict[str, Any]:
    """Which rules fire for a snapshot, the points of each award, and which limits would stop
    a rule (`usage`: times each (rule, period) has applied to the member; None: unknown)."""
    decisions = book.evaluate(snapshot)
    points = resolve_points(decisions, snapshot.occurrence)
    notes = _limit_notes(decisions, snapshot, usage)
    lines = rule_engine.explain(decisions, points, currency=book.policy.currency)
    if not decisions:
        lines = [f"No rule fired for this {snapshot.occurrence.kind} event."]
    return {
        "ruleset_version": book.version,
        "decisions": [decision_view(d, points.get(i)) for i, d in enumerate(decisions)],
        "lines": lines,
        "notes": notes,
    }


def _limit_notes(decisions: Sequence[Decision], snapshot: EvaluationInput,
                 usage: Mapping[tuple[str, str], int] | None) -> list[str]:
    notes: list[str] = []
    seen: set[str] = set()
    for decision in decisions:
        limit = decision.limit
        if limit is None or decision.rule_id in seen:
            continue
        seen.add(decision.rule_id)
        if limit.times is not None:
            per = "member" if limit.period == "ever" else f"member per {limit.period}"
            allowed = f"{limit.times} time{'s' if limit.times != 1 else ''} per {per}"
            if usage is None:
                notes.append(f"{decision.rule_id} has a limit ({allowed}); give a member id "
                             "to see whether it still applies")
            else:
                used = usage.get((decision.rule_id, period_key(limit.period,
                                                               snapshot.occurrence)), 0)
                if used >= limit.times:
                    notes.append(f"{decision.rule_id} matched, but its limit ({allowed}) is "
                                 f"reached (used {used}): it would not apply for this member")
        if limit.budget_points is not None:
            notes.append(f"{decision.rule_id} spends from a budget of {limit.budget_points} "
                         "points, not checked here")
    return notes


def explain_member(ctx: ServiceContext, book: RuleBook, member_id: str,
                   occurrence: Occurrence) -> dict[str, Any]:
    """Explain an occurrence for a stored member: profile, statistics as of the occurrence,
    and how often each limited rule has already applied to them."""
    with ctx.uow(read_only=True) as uow:
        member = uow.members.get(member_id)
        if member is None:
            raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
        stats = uow.transactions.stats(member, occurrence.occurred_at)
        snapshot = EvaluationInput(occurrence, uow.members.to_domain(member), stats,
                                   occurrence.occurred_at)
        decisions = book.evaluate(snapshot)
        keys = [(d.rule_id, period_key(d.limit.period, occurrence)) for d in decisions
                if d.limit is not None and d.limit.times is not None]
        usage = uow.programme.usage(member_id, keys)
    return explain_snapshot(book, snapshot, usage)


def explain(ctx: ServiceContext, member_id: str, command: RecordTransaction | RecordEvent,
            files: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Which rules would fire for this member and occurrence, with the points of each award.

    Uses candidate `files` when given (checked first), else the rules in force. Nothing is
    recorded; `notes` name rules whose per-member limit is already reached.
    """
    book = rule_book(ctx, files=files)
    if isinstance(command, RecordTransaction):
        occurrence = purchase_occurrence(command)
    else:
        occurrence = event_occurrence(command)
    return explain_member(ctx, book, member_id, occurrence)
