"""Rule versions: check, activate (only a valid set, the set in force stays otherwise), list,
read, and explain what a set would decide for a member without recording anything."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from loyalty import engine as rule_engine
from loyalty.domain.commands import RecordEvent, RecordTransaction
from loyalty.domain.decisions import Decision, RuleBook
from loyalty.domain.effects import resolve_points
from loyalty.domain.errors import (
    ChangeRefused,
    RulesInvalid,
    UnknownRulesVersion,
    UnknownTransaction,
    ValidationFailed,
)
from loyalty.domain.model import EvaluationInput, Occurrence
from loyalty.engine.loader import decode_rule_file as decode_rule_file  # the API's upload
from loyalty.services.audit import Actor, require_reason
from loyalty.services.context import ServiceContext
from loyalty.services.decide import decision_view
from loyalty.services.explain import explain_for_member, explain_recorded, find_recorded
from loyalty.services.limits import limit_phrase
from loyalty.services.occurrences import event_occurrence, purchase_occurrence
from loyalty.services.versions import (
    Timeline,
    activate_files,
    prepare_ahead,
    refuse,
    require_approval_ok,
    require_storable,
    require_valid,
    version_view,
)
from loyalty.services.versions import check_files as check_files  # the API's check
from loyalty.store.uow import run_with_retry

log = logging.getLogger(__name__)


def activate(ctx: ServiceContext, files: Mapping[str, str] | None, activated_by: Actor | str,
             *, reason: str | None, at: datetime | None = None) -> dict[str, Any]:
    """Make `files` (default: the rules directory) the rules in force as a new version, now or
    from the instant `at`. A reason is required. When the rules in force ask for approval, the
    same files must have been approved as a draft (that draft is then the one activated);
    otherwise the refusal, with its reason, goes to the audit log."""
    actor = activated_by if isinstance(activated_by, Actor) else Actor(activated_by, "cli")
    why = require_reason(reason, "an activation")
    files = dict(files) if files is not None else rule_engine.read_rule_dir(ctx.settings.rules_dir)
    require_storable(files)
    content_hash = rule_engine.rules_content_hash(files)
    # checked, rehearsed and compiled before the transaction, which then finds them done
    require_valid(files, at or ctx.clock())
    with ctx.uow(read_only=True) as uow:
        prepare_ahead(uow, files, ctx.rules.prepare, at or ctx.clock())

    def attempt() -> dict[str, Any]:
        with ctx.uow() as uow:
            now = ctx.clock()
            draft = uow.workflow.approved_draft_with(content_hash)
            require_approval_ok(uow, now, draft=draft)
            result = activate_files(uow, files, actor, reason=why, now=now, effective_at=at,
                                    draft_id=None if draft is None else draft.draft_id,
                                    settings=ctx.settings, prepare=ctx.rules.prepare)
            uow.commit()
        return result

    try:
        result = run_with_retry(attempt, retries=ctx.settings.max_retries)
    except ChangeRefused as refused:
        refuse(ctx, actor, f"files {content_hash[:12]}", refused)
        raise
    ctx.rules.invalidate()
    return result


def list_versions(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Every version, newest first, with its status (in force, scheduled, superseded,
    cancelled); `active` marks the one in force now."""
    now = ctx.clock()
    with ctx.uow(read_only=True) as uow:
        timeline = Timeline(uow)
    return [{**version_view(row, timeline.status(number, now)),
             "active": timeline.in_force(now) == number}
            for number, row in sorted(timeline.rows.items(), reverse=True)]


def get_version(ctx: ServiceContext, version: int) -> dict[str, Any]:
    now = ctx.clock()
    with ctx.uow(read_only=True) as uow:
        timeline = Timeline(uow)
        row = uow.programme.rule_version(version)
    if row is None:
        raise UnknownRulesVersion(f"no rules version {version}", details={"version": version})
    return {**version_view(row, timeline.status(version, now)),
            "active": timeline.in_force(now) == version, "files": dict(row.files)}


def rule_book(ctx: ServiceContext | None, *, version: int | None = None,
              files: Mapping[str, str] | None = None) -> RuleBook:
    """Candidate `files` (checked first), else a stored `version`, else the rules in force."""
    if files is not None:  # checked, not rehearsed: nothing is activated
        problems = [str(problem) for problem in rule_engine.check_rules(files)]
        if problems:
            raise RulesInvalid(f"{len(problems)} problem(s) in the candidate rule files",
                               details={"problems": problems})
        return rule_engine.build_rulebook(dict(files), "candidate")
    assert ctx is not None, "a stored or active version needs the database"
    if version is not None:
        stored = get_version(ctx, version)
        return rule_engine.build_rulebook(stored["files"], str(version), stored=True)
    return ctx.book()


def stored_occurrence(ctx: ServiceContext, *, transaction_id: str | None = None,
                      event_id: str | None = None) -> tuple[Occurrence, str, list[str]]:
    """A recorded occurrence (any source id the ledger names) rebuilt as the engine saw it,
    its member, and what was not recorded with it."""
    source_id = transaction_id if transaction_id is not None else event_id
    assert source_id is not None
    try:
        item = find_recorded(ctx, source_id)
    except ValidationFailed:
        if transaction_id is not None:
            raise UnknownTransaction(f"no transaction {transaction_id!r}",
                                     details={"transaction_id": transaction_id}) from None
        raise
    notes = []
    if item.kind == "purchase" and item.source_type == "transaction" and item.legacy:
        notes.append("recorded before payment methods and offer codes were kept: "
                     "event.payment_methods and offers.presented are taken as empty")
    return item.occurrence, item.member_id, notes


def explain_stored(ctx: ServiceContext, source_id: str,
                   book: RuleBook | None = None) -> dict[str, Any]:
    """Explain a recorded occurrence through the decision path, as its member stood then;
    with `book` (a draft or another version) instead of the version that recorded it."""
    result, _ = explain_recorded(ctx, source_id, book)
    return result


def explain_snapshot(book: RuleBook, snapshot: EvaluationInput) -> dict[str, Any]:
    """Which rules fire for a snapshot (no stored member), the points of each award, and
    which limits may stop a rule."""
    decisions = book.evaluate(snapshot)
    points = resolve_points(decisions, snapshot.occurrence)
    lines = rule_engine.explain(decisions, points, currency=book.policy.currency)
    if not decisions:
        lines = [f"No rule fired for this {snapshot.occurrence.kind} event."]
    return {
        "ruleset_version": book.version,
        "decisions": [decision_view(d, points.get(i)) for i, d in enumerate(decisions)],
        "lines": lines,
        "notes": _limit_notes(decisions),
    }


def _limit_notes(decisions: Sequence[Decision]) -> list[str]:
    """Without a stored member, a limited rule may or may not still apply, and a rule with a
    control group may set the member aside: say so."""
    notes: list[str] = []
    seen: set[str] = set()
    for decision in decisions:
        limit = decision.limit
        if decision.rule_id in seen:
            continue
        seen.add(decision.rule_id)
        if decision.holdout is not None:
            notes.append(f"{decision.rule_id} sets {decision.holdout.percent}% of members "
                         "aside as a control group; give a member id to see their group")
        if limit is None:
            continue
        if limit.times is not None:
            notes.append(f"{decision.rule_id} has a limit ({limit_phrase(limit)}); give a "
                         "member id to see whether it still applies")
        if limit.budget_points is not None:
            notes.append(f"{decision.rule_id} spends from a budget of {limit.budget_points} "
                         "points, not checked here")
    return notes


def explain_member(ctx: ServiceContext, book: RuleBook, member_id: str,
                   occurrence: Occurrence) -> dict[str, Any]:
    """Explain an occurrence for a stored member through the decision path: their profile,
    statistics, balances and limit usage replayed from their history."""
    return explain_for_member(ctx, book, member_id, occurrence)


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
