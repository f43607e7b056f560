"""Rule files: check, explain, backtest, drafts and their approval, activation now or at an
instant, rollback, the schedule and the diff between versions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Response, request
from flask.views import MethodView
from werkzeug.exceptions import RequestEntityTooLarge

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint, request_json, too_large
from loyalty.api.schemas import programme_requests as pr
from loyalty.api.schemas import responses as rs
from loyalty.api.schemas.fields import MAX_INT32
from loyalty.domain.commands import RecordEvent, RecordTransaction
from loyalty.domain.errors import RulesInvalid, UnknownRulesVersion
from loyalty.services import audit, rules, workflow
from loyalty.services import backtest as backtests
from loyalty.services.audit import Actor
from loyalty.services.backtest_report import render_html
from loyalty.services.sweep import Shard
from loyalty.store.history import HistoryFilter

blp = Blueprint("rules", __name__, description="Rule files marketing edits")
#: A stored version: numbers beyond what the store holds name no version (404).
VERSION = f"/rules/versions/<int(min=1, max={MAX_INT32}):version>"


def actor() -> Actor:
    """The person behind the request: the API key's name."""
    return Actor(current_key().name, "key")


@blp.route("/rules/check")
class CheckRules(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.RuleFilesSchema(), as_kwargs=True)
    @blp.response(200, rs.RulesCheck)
    def post(self, files: dict[str, str]) -> dict[str, Any]:
        """Validate candidate rule files without activating them; lists every problem."""
        problems = rules.check_files(files)
        audit.record_alone(service_context(), actor(), "rules.checked",
                           details={"files": sorted(files), "problems": len(problems)})
        return {"valid": not problems, "problems": problems}


@blp.route("/rules/explain")
class ExplainRules(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.ExplainSchema(), as_kwargs=True)
    @blp.response(200, rs.Explanation)
    def post(
        self, member_id: str, event: RecordTransaction | RecordEvent, files: dict[str, str] | None
    ) -> dict[str, Any]:
        """Which rules would fire for this member and event, and why; nothing is recorded."""
        return rules.explain(service_context(), member_id, event, files)


@blp.route("/rules/backtests")
class Backtests(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.BacktestSchema(), as_kwargs=True)
    @blp.response(200, rs.BacktestReport)
    @blp.alt_response(200, description="The report as a page with charts (format html).",
                      content_type="text/html", success=True)
    def post(self, files: dict[str, str], from_: datetime, to: datetime, against: int | None,
             ignore_windows: bool, shard: Shard | None, format: str) -> Any:
        """Replay a recorded period against draft rules and the rules in force (or version
        `against`), and report what the draft would have cost. Nothing is written."""
        return _backtest(files, from_, to, against, ignore_windows, shard, format)


def _backtest(files: dict[str, str], start: datetime, end: datetime, against: int | None,
              ignore_windows: bool, shard: Shard | None, format: str,
              label: str = "draft") -> Any:
    which = HistoryFilter() if shard is None else HistoryFilter(
        shard_index=shard.index, shard_count=shard.count)
    report = backtests.backtest(service_context(), files, start=start, end=end,
                                against=against, ignore_windows=ignore_windows, which=which,
                                label=label)
    if format == "html":
        return Response(render_html(report), mimetype="text/html")
    return report


@blp.route("/rules/activate")
class ActivateRules(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.ActivateRulesSchema(), as_kwargs=True)
    @blp.response(201, rs.RulesVersion)
    @blp.alt_response(409, schema=rs.Error, description="`approval_required`")
    def post(self, reason: str, files: dict[str, str] | None = None,
             at: datetime | None = None) -> dict[str, Any]:
        """Activate rule files (absent: the server's rules directory) as a new version, now or
        at `at`. Where the programme requires approval, the same files must have been approved
        as a draft."""
        return rules.activate(service_context(), files, actor(), reason=reason, at=at)


@blp.route("/rules/versions")
class RuleVersions(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, rs.RulesVersions)
    def get(self) -> dict[str, Any]:
        """Every version, newest first, with its status and content hash."""
        return {"versions": rules.list_versions(service_context())}


@blp.route(VERSION)
class RuleVersion(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, rs.RulesVersion)
    def get(self, version: int) -> dict[str, Any]:
        """One version, with its files."""
        return rules.get_version(service_context(), version)


@blp.route(f"{VERSION}/files/<name>")
class RuleVersionFile(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, description="The file exactly as activated.", content_type="text/plain")
    def get(self, version: int, name: str) -> Response:
        """One file of a version, byte for byte."""
        files = rules.get_version(service_context(), version)["files"]
        if name not in files:
            raise UnknownRulesVersion(f"version {version} has no file {name!r}",
                                      details={"version": version, "files": sorted(files)})
        return Response(files[name], mimetype="text/plain")


@blp.route(f"{VERSION}/cancel")
class CancelVersion(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.RequiredReasonSchema(), as_kwargs=True)
    @blp.response(200, rs.RulesVersion)
    @blp.alt_response(409, schema=rs.Error, description="`change_refused`: not scheduled")
    def post(self, version: int, reason: str) -> dict[str, Any]:
        """Call off a scheduled version before its instant."""
        return workflow.cancel(service_context(), version, actor(), reason)


@blp.route("/rules/schedule")
class Schedule(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, rs.Schedule)
    def get(self) -> dict[str, Any]:
        """Versions scheduled to take over later, soonest first."""
        return {"scheduled": workflow.schedule(service_context())}


@blp.route("/rules/rollback")
class Rollback(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.RollbackSchema(), as_kwargs=True)
    @blp.response(201, rs.RulesVersion)
    @blp.alt_response(409, schema=rs.Error, description="`approval_required`")
    def post(self, version: int, reason: str) -> dict[str, Any]:
        """Make version `version`'s exact content the rules in force again, as a new version
        with the same content hash. Where the programme requires approval, a marketing lead
        or an administrator rolls back."""
        key = current_key()
        return workflow.rollback(service_context(), version, actor(), key.role, reason)


@blp.route("/rules/diff")
class Diff(MethodView):
    @require_roles("marketing")
    @blp.arguments(pr.DiffQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.VersionsDiff)
    def get(self, from_: str, to: str) -> dict[str, Any]:
        """Two versions (or a version and a draft) compared rule by rule, in plain words."""
        return workflow.diff_versions(service_context(), from_, to)


def _draft_upload(schema: Any) -> dict[str, Any]:
    """A draft's body: JSON, or a multipart form with one `files` part per file. A schema
    error propagates, answered as a validation error naming each field."""
    if request.mimetype == "multipart/form-data":
        try:
            parts, form = request.files.getlist("files"), request.form
        except RequestEntityTooLarge:
            raise too_large() from None
        files: dict[str, str] = {}
        for part in parts:
            name = Path(part.filename or "").name
            text, problem = rules.decode_rule_file(name, part.read())
            if problem is not None:  # with its line: nothing is stored
                raise RulesInvalid("a rule file is not UTF-8 text; nothing was stored",
                                   details={"problems": [str(problem)]})
            files[name] = text or ""
        body: dict[str, Any] = {"files": files}
        if "note" in form:
            body["note"] = form["note"]
    else:
        body = request_json() or {}
    loaded: dict[str, Any] = schema.load(body)
    return loaded


DRAFT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["files"], "properties": {
        "files": {"type": "object", "additionalProperties": {"type": "string"},
                  "example": {"earning.yaml": "rules: []\n"}},
        "note": {"type": "string"}}}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "note": {"type": "string"}}}}}}}


@blp.route("/rules/drafts")
class Drafts(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.doc(**DRAFT_BODY)
    @blp.response(201, rs.RuleDraft)
    def post(self) -> dict[str, Any]:
        """Upload rule files as a draft (JSON, or a multipart form): checked at once, every
        problem with file, line and rule id, and stored with its author and note."""
        body = _draft_upload(pr.DraftSchema())
        return workflow.create_draft(service_context(), body["files"], body["note"], actor())

    @require_roles("marketing")
    @blp.arguments(pr.DraftQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.Drafts)
    def get(self, status: str | None) -> dict[str, Any]:
        """Drafts, most recently changed first (optionally only those with one status)."""
        return {"drafts": workflow.list_drafts(service_context(), status)}


@blp.route("/rules/drafts/<draft_id>")
class DraftResource(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, rs.RuleDraft)
    def get(self, draft_id: str) -> dict[str, Any]:
        """A draft: its state, problems, file names, and how it differs from the rules in
        force."""
        return workflow.get_draft(service_context(), draft_id)

    @require_roles("marketing")
    @blp.no_query()
    @blp.doc(**DRAFT_BODY)
    @blp.response(200, rs.RuleDraft)
    def put(self, draft_id: str) -> dict[str, Any]:
        """Replace a draft's files (checked again); a submission or approval no longer holds."""
        body = _draft_upload(pr.DraftReplaceSchema())
        return workflow.replace_draft(service_context(), draft_id, body["files"],
                                      body.get("note"), actor())


@blp.route("/rules/drafts/<draft_id>/files/<name>")
class DraftFile(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, description="The file as uploaded.", content_type="text/plain")
    def get(self, draft_id: str, name: str) -> Response:
        """One file of a draft, as uploaded."""
        return Response(workflow.draft_file(service_context(), draft_id, name),
                        mimetype="text/plain")


@blp.route("/rules/drafts/<draft_id>/withdraw")
class WithdrawDraft(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.ReasonSchema(), as_kwargs=True, required=False)
    @blp.response(200, rs.RuleDraft)
    def post(self, draft_id: str, reason: str | None = None) -> dict[str, Any]:
        """Withdraw a draft: it can no longer be submitted, approved or activated."""
        return workflow.withdraw(service_context(), draft_id, actor(), reason)


@blp.route("/rules/drafts/<draft_id>/submit")
class SubmitDraft(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.ReasonSchema(), as_kwargs=True, required=False)
    @blp.response(200, rs.RuleDraft)
    def post(self, draft_id: str, reason: str | None = None) -> dict[str, Any]:
        """Ask for approval of a draft without problems."""
        return workflow.submit(service_context(), draft_id, actor(), reason)


@blp.route("/rules/drafts/<draft_id>/approve")
class ApproveDraft(MethodView):
    @require_roles("marketing_lead")
    @blp.no_query()
    @blp.arguments(pr.ReasonSchema(), as_kwargs=True, required=False)
    @blp.response(200, rs.RuleDraft)
    @blp.alt_response(403, schema=rs.Error, description="`own_change`")
    def post(self, draft_id: str, reason: str | None = None) -> dict[str, Any]:
        """Approve a submitted draft; nobody approves their own."""
        return workflow.decide(service_context(), draft_id, actor(), current_key().role,
                               approve=True, reason=reason)


@blp.route("/rules/drafts/<draft_id>/reject")
class RejectDraft(MethodView):
    @require_roles("marketing_lead")
    @blp.no_query()
    @blp.arguments(pr.RequiredReasonSchema(), as_kwargs=True)
    @blp.response(200, rs.RuleDraft)
    @blp.alt_response(403, schema=rs.Error, description="`own_change`")
    def post(self, draft_id: str, reason: str) -> dict[str, Any]:
        """Send a submitted draft back, with the reason."""
        return workflow.decide(service_context(), draft_id, actor(), current_key().role,
                               approve=False, reason=reason)


@blp.route("/rules/drafts/<draft_id>/activate")
class ActivateDraft(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.ActivateDraftSchema(), as_kwargs=True)
    @blp.response(201, rs.RulesVersion)
    @blp.alt_response(409, schema=rs.Error, description="`approval_required`, "
                                                        "`change_refused`")
    def post(self, draft_id: str, reason: str, at: datetime | None = None) -> dict[str, Any]:
        """Make a checked draft the rules in force now, or at every till from the instant
        `at`. Where the programme requires approval, only an approved draft."""
        return workflow.activate_draft(service_context(), draft_id, actor(), reason, at)


@blp.route("/rules/drafts/<draft_id>/backtests")
class DraftBacktests(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.arguments(pr.DraftBacktestSchema(), as_kwargs=True)
    @blp.response(200, rs.BacktestReport)
    @blp.alt_response(200, description="The report as a page with charts (format html).",
                      content_type="text/html", success=True)
    def post(self, draft_id: str, from_: datetime, to: datetime, against: int | None,
             ignore_windows: bool, shard: Shard | None, format: str) -> Any:
        """Backtest a draft: replay a recorded period against it and the rules in force."""
        files = workflow.draft_files(service_context(), draft_id)
        return _backtest(files, from_, to, against, ignore_windows, shard, format,
                         label=f"{draft_id}/")
