"""Marketing's own workflow for rule changes: drafts (uploaded, checked at once, replaced,
withdrawn), submission and approval by a different person, activation now or at an instant,
cancelling a scheduled version, rolling back to an earlier version, and the diff between
two versions. Every step and every refusal is in the audit log."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from loyalty import engine as rule_engine
from loyalty.domain.errors import (
    ApprovalRequired,
    ChangeRefused,
    OwnChange,
    UnknownDraft,
    UnknownRulesVersion,
    ValidationFailed,
)
from loyalty.services import audit
from loyalty.services.audit import Actor, require_reason
from loyalty.services.context import ServiceContext
from loyalty.services.rule_diff import diff_files
from loyalty.services.timing import iso
from loyalty.services.versions import (
    Timeline,
    activate_files,
    approval_required,
    check_files,
    prepare_ahead,
    refuse,
    require_storable,
    version_view,
)
from loyalty.services.versions import cancel as cancel_version
from loyalty.services.versions import rollback as rollback_version
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

#: A draft's states; the last three are final.
OPEN = ("draft", "submitted", "approved", "rejected")
FINAL = ("withdrawn", "activated", "scheduled")
#: Roles that may approve (an administrator may do everything).
APPROVERS = ("marketing_lead", "admin")


def _files(files: Mapping[str, str]) -> dict[str, str]:
    if not files:
        raise ValidationFailed.on_fields({"files": ["A draft needs at least one rule file."]})
    return dict(files)


def draft_view(row: Any, *, with_files: bool = False) -> dict[str, Any]:
    problems = list(row.problems or [])
    view: dict[str, Any] = {
        "draft_id": row.draft_id, "status": row.status, "author": row.author, "note": row.note,
        "content_hash": row.content_hash, "valid": not problems, "problems": problems,
        "based_on": row.based_on, "contributors": list(row.contributors or []),
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
        "submitted_by": row.submitted_by, "submitted_at": iso(row.submitted_at),
        "decided_by": row.decided_by, "decided_at": iso(row.decided_at),
        "decision_reason": row.decision_reason, "version": row.version,
    }
    if with_files:
        view["files"] = sorted(row.files)
    return view


def _run(ctx: ServiceContext, actor: Actor, subject: str,
         work: Any) -> Any:
    """Run `work(uow, now)` in one transaction; a refusal is recorded in the audit log."""

    def attempt() -> Any:
        with ctx.uow() as uow:
            result = work(uow, ctx.clock())
            uow.commit()
            return result

    try:
        return run_with_retry(attempt, retries=ctx.settings.max_retries)
    except ChangeRefused as refused:
        refuse(ctx, actor, subject, refused)
        raise


def _draft(uow: SqlUnitOfWork, draft_id: str) -> Any:
    row = uow.workflow.draft(draft_id, for_update=True)
    if row is None:
        raise UnknownDraft(f"no draft {draft_id!r}", details={"draft_id": draft_id})
    return row


def _check_audit(uow: SqlUnitOfWork, actor: Actor, now: datetime, draft_id: str,
                 problems: list[str]) -> None:
    audit.record(uow, actor, "draft.checked", now, subject=f"draft {draft_id}",
                 details={"problems": len(problems), "first": problems[:5]})


def create_draft(ctx: ServiceContext, files: Mapping[str, str], note: str,
                 actor: Actor) -> dict[str, Any]:
    """Store a set of rule files as a draft with its author and note, checked at once: every
    problem with file, line and rule id. A draft with problems is kept too, to be fixed."""
    files = _files(files)
    require_storable(files)
    problems = check_files(files, ctx.clock())
    draft_id = f"d-{secrets.token_hex(4)}"

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        values = {
            "draft_id": draft_id, "status": "draft", "author": actor.name,
            "note": note.strip(), "files": files,
            "content_hash": rule_engine.rules_content_hash(files), "problems": problems,
            "based_on": Timeline(uow).in_force(now), "contributors": [actor.name],
            "created_at": now, "updated_at": now,
        }
        uow.workflow.add_draft(values)
        audit.record(uow, actor, "draft.created", now, subject=f"draft {draft_id}",
                     reason=note.strip() or None,
                     details={"files": sorted(files), "content_hash": values["content_hash"]})
        _check_audit(uow, actor, now, draft_id, problems)
        return draft_view(_draft(uow, draft_id), with_files=True)

    result: dict[str, Any] = _run(ctx, actor, f"draft {draft_id}", work)
    return result


def replace_draft(ctx: ServiceContext, draft_id: str, files: Mapping[str, str],
                  note: str | None, actor: Actor) -> dict[str, Any]:
    """Replace a draft's files (and note), checked again; an approval or a submission no
    longer holds for the new files: the draft is a draft again."""
    files = _files(files)
    require_storable(files)
    problems = check_files(files, ctx.clock())

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        row = _draft(uow, draft_id)
        if row.status in FINAL:
            raise ChangeRefused(f"draft {draft_id} is {row.status}: upload a new draft",
                                details={"draft_id": draft_id, "status": row.status})
        contributors = list(row.contributors or [])
        if actor.name not in contributors:
            contributors.append(actor.name)
        uow.workflow.update_draft(
            draft_id, files=files, content_hash=rule_engine.rules_content_hash(files),
            problems=problems, status="draft", contributors=contributors, updated_at=now,
            note=row.note if note is None else note.strip(), submitted_by=None,
            submitted_at=None, decided_by=None, decided_at=None, decision_reason=None,
            based_on=Timeline(uow).in_force(now))
        audit.record(uow, actor, "draft.replaced", now, subject=f"draft {draft_id}",
                     reason=note, details={"files": sorted(files), "was": row.status,
                                           "diff": diff_files(row.files, files).lines()})
        _check_audit(uow, actor, now, draft_id, problems)
        return draft_view(_draft(uow, draft_id), with_files=True)

    result: dict[str, Any] = _run(ctx, actor, f"draft {draft_id}", work)
    return result


def list_drafts(ctx: ServiceContext, status: str | None = None) -> list[dict[str, Any]]:
    with ctx.uow(read_only=True) as uow:
        return [draft_view(row) for row in uow.workflow.drafts(status)]


def get_draft(ctx: ServiceContext, draft_id: str) -> dict[str, Any]:
    with ctx.uow(read_only=True) as uow:
        row = uow.workflow.draft(draft_id)
        if row is None:
            raise UnknownDraft(f"no draft {draft_id!r}", details={"draft_id": draft_id})
        in_force = Timeline(uow).in_force(ctx.clock())
        current = uow.programme.rule_version(in_force) if in_force is not None else None
    view = draft_view(row, with_files=True)
    view["diff"] = diff_files({} if current is None else dict(current.files),
                              dict(row.files)).as_dict()
    view["diff_against"] = in_force
    return view


def draft_files(ctx: ServiceContext, draft_id: str) -> dict[str, str]:
    with ctx.uow(read_only=True) as uow:
        row = uow.workflow.draft(draft_id)
    if row is None:
        raise UnknownDraft(f"no draft {draft_id!r}", details={"draft_id": draft_id})
    return dict(row.files)


def draft_file(ctx: ServiceContext, draft_id: str, name: str) -> str:
    files = draft_files(ctx, draft_id)
    if name not in files:
        raise UnknownDraft(f"draft {draft_id} has no file {name!r}",
                           details={"draft_id": draft_id, "files": sorted(files)})
    return files[name]


def withdraw(ctx: ServiceContext, draft_id: str, actor: Actor,
             reason: str | None) -> dict[str, Any]:
    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        row = _draft(uow, draft_id)
        if row.status in FINAL:
            raise ChangeRefused(f"draft {draft_id} is already {row.status}",
                                details={"draft_id": draft_id, "status": row.status})
        uow.workflow.update_draft(draft_id, status="withdrawn", updated_at=now)
        audit.record(uow, actor, "draft.withdrawn", now, subject=f"draft {draft_id}",
                     reason=reason)
        return draft_view(_draft(uow, draft_id))

    result: dict[str, Any] = _run(ctx, actor, f"draft {draft_id}", work)
    return result


def submit(ctx: ServiceContext, draft_id: str, actor: Actor,
           note: str | None = None) -> dict[str, Any]:
    """Ask for approval: only a draft without problems."""

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        row = _draft(uow, draft_id)
        if row.status not in ("draft", "rejected"):
            raise ChangeRefused(f"draft {draft_id} is {row.status}: only a draft can be "
                                "submitted", details={"draft_id": draft_id,
                                                      "status": row.status})
        _require_checked(row)
        uow.workflow.update_draft(draft_id, status="submitted", submitted_by=actor.name,
                                  submitted_at=now, updated_at=now, decided_by=None,
                                  decided_at=None, decision_reason=None)
        audit.record(uow, actor, "draft.submitted", now, subject=f"draft {draft_id}",
                     reason=note)
        return draft_view(_draft(uow, draft_id))

    result: dict[str, Any] = _run(ctx, actor, f"draft {draft_id}", work)
    return result


def _require_checked(row: Any) -> None:
    if row.problems:
        raise ChangeRefused(f"draft {row.draft_id} has {len(row.problems)} problem(s): fix "
                            "them first", details={"draft_id": row.draft_id,
                                                   "problems": list(row.problems)})


def decide(ctx: ServiceContext, draft_id: str, actor: Actor, role: str, *, approve: bool,
           reason: str | None) -> dict[str, Any]:
    """Approve or refuse a submitted draft: a marketing lead or an administrator who neither
    wrote nor submitted it. Refusing needs a reason."""
    if not approve:
        reason = require_reason(reason, "refusing a draft")

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        row = _draft(uow, draft_id)
        if role not in APPROVERS:
            raise ChangeRefused("only a marketing lead or an administrator approves a draft",
                                details={"draft_id": draft_id, "role": role})
        if row.status != "submitted":
            raise ChangeRefused(f"draft {draft_id} is {row.status}: only a submitted draft "
                                "is approved or refused",
                                details={"draft_id": draft_id, "status": row.status})
        own = {*(row.contributors or []), row.author, row.submitted_by}
        if actor.name in own:
            raise OwnChange(f"{actor.name} wrote or submitted draft {draft_id}: nobody "
                            "approves their own change; ask another marketing lead or an "
                            "administrator", details={"draft_id": draft_id})
        _require_checked(row)
        status = "approved" if approve else "rejected"
        uow.workflow.update_draft(draft_id, status=status, decided_by=actor.name,
                                  decided_at=now, decision_reason=reason, updated_at=now)
        audit.record(uow, actor, "draft.approved" if approve else "draft.rejected", now,
                     subject=f"draft {draft_id}", reason=reason,
                     details={"content_hash": row.content_hash, "author": row.author,
                              "submitted_by": row.submitted_by})
        return draft_view(_draft(uow, draft_id))

    result: dict[str, Any] = _run(ctx, actor, f"draft {draft_id}", work)
    return result


def activate_draft(ctx: ServiceContext, draft_id: str, actor: Actor, reason: str | None,
                   at: datetime | None = None) -> dict[str, Any]:
    """Make a checked draft the rules in force now, or from the instant `at` at every till.
    When the rules in force ask for approval, only an approved draft."""
    why = require_reason(reason, "an activation")
    _ahead(ctx, draft_files(ctx, draft_id), at)

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        row = _draft(uow, draft_id)
        if row.status not in OPEN:
            raise ChangeRefused(f"draft {draft_id} is {row.status}",
                                details={"draft_id": draft_id, "status": row.status})
        _require_checked(row)
        if row.status == "rejected":
            raise ChangeRefused(f"draft {draft_id} was refused by {row.decided_by}: "
                                f"{row.decision_reason}; replace its files to start again",
                                details={"draft_id": draft_id, "status": row.status})
        if row.status != "approved" and approval_required(uow, Timeline(uow), now):
            raise ApprovalRequired(
                f"the rules in force require a second person's approval and draft {draft_id} "
                f"is {row.status}: submit it and have a marketing lead or an administrator "
                "who did not write it approve it", details={"draft_id": draft_id})
        in_force = Timeline(uow).in_force(now)
        result = activate_files(uow, dict(row.files), actor, reason=why, now=now,
                                effective_at=at, draft_id=draft_id, settings=ctx.settings,
                                prepare=ctx.rules.prepare)
        if row.based_on is not None and in_force is not None and row.based_on != in_force:
            result.setdefault("warnings", []).append(
                f"the draft was written against version {row.based_on}; version {in_force} "
                "was in force when it was activated: changes made since that are not in the "
                "draft are undone (see the diff)")
        return result

    result: dict[str, Any] = _run(ctx, actor, f"draft {draft_id}", work)
    ctx.rules.invalidate()
    return result


def _ahead(ctx: ServiceContext, files: dict[str, str], at: datetime | None) -> None:
    """Check, rehearse and compile a set before the activation's transaction, which then finds
    that done (a set with problems is refused in the transaction, as its state says)."""
    if not check_files(files, at or ctx.clock()):
        with ctx.uow(read_only=True) as uow:
            prepare_ahead(uow, files, ctx.rules.prepare, at or ctx.clock())


def cancel(ctx: ServiceContext, version: int, actor: Actor, reason: str | None,
           ) -> dict[str, Any]:
    """Call off a scheduled version before its instant; its draft can be scheduled again."""
    why = require_reason(reason, "cancelling a scheduled version")

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        result = cancel_version(uow, version, actor, why, now)
        if result["draft_id"] is not None:
            draft = uow.workflow.draft(result["draft_id"])
            if draft is not None:
                uow.workflow.update_draft(
                    draft.draft_id, version=None, updated_at=now,
                    status="approved" if draft.decided_by is not None else "draft")
        return result

    result: dict[str, Any] = _run(ctx, actor, f"version {version}", work)
    ctx.rules.invalidate()
    return result


def rollback(ctx: ServiceContext, version: int, actor: Actor, role: str,
             reason: str | None) -> dict[str, Any]:
    """Make version `version`'s exact content the rules in force again, as a new version with
    the same content hash. Where the programme asks for approval, a marketing lead or an
    administrator rolls back (the content was approved once already)."""
    why = require_reason(reason, "a rollback")
    with ctx.uow(read_only=True) as uow:
        stored = uow.programme.rule_version(version)
    if stored is not None:
        _ahead(ctx, dict(stored.files), None)

    def work(uow: SqlUnitOfWork, now: datetime) -> dict[str, Any]:
        if role not in APPROVERS and approval_required(uow, Timeline(uow), now):
            raise ApprovalRequired("the rules in force require approval: a marketing lead or "
                                   "an administrator rolls back", details={"role": role})
        return rollback_version(uow, version, actor, why, now, ctx.settings,
                                prepare=ctx.rules.prepare)

    result: dict[str, Any] = _run(ctx, actor, f"version {version}", work)
    ctx.rules.invalidate()
    return result


def schedule(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Versions scheduled to take over later, soonest first."""
    now = ctx.clock()
    with ctx.uow(read_only=True) as uow:
        timeline = Timeline(uow)
    return [{**version_view(timeline.rows[v], "scheduled"), "takes_over": iso(at)}
            for at, v in timeline.upcoming(now)]


def diff_versions(ctx: ServiceContext, old: str, new: str) -> dict[str, Any]:
    """Two versions (or a version and a draft, `d-...`) compared rule by rule."""
    for side in (old, new):
        if not side.startswith("d-") and not side.isdigit():
            raise ValidationFailed(f"{side!r} is neither a version number nor a draft id "
                                   "(d-...)", details={"side": side})
    with ctx.uow(read_only=True) as uow:
        sides = [_side(uow, side) for side in (old, new)]
    result = diff_files(sides[0], sides[1]).as_dict()
    return {"from": old, "to": new, **result}


def _side(uow: SqlUnitOfWork, which: str) -> dict[str, str]:
    if which.startswith("d-"):
        row = uow.workflow.draft(which)
        if row is None:
            raise UnknownDraft(f"no draft {which!r}", details={"draft_id": which})
        return dict(row.files)
    number = int(which)
    stored = uow.programme.rule_version(number)
    if stored is None:
        raise UnknownRulesVersion(f"no rules version {number}", details={"version": number})
    return dict(stored.files)
