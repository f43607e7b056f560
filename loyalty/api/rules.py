"""Rule files: check, explain, activate, and the versions activated so far."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response
from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import requests as rq
from loyalty.api.schemas import responses as rs
from loyalty.domain.commands import RecordEvent, RecordTransaction
from loyalty.services import backtest as backtests
from loyalty.services import rules
from loyalty.services.backtest_report import render_html
from loyalty.services.sweep import Shard
from loyalty.store.history import HistoryFilter

blp = Blueprint("rules", __name__, description="Rule files marketing edits")


@blp.route("/rules/check")
class CheckRules(MethodView):
    @require_roles("marketing")
    @blp.arguments(rq.RuleFilesSchema(), as_kwargs=True)
    @blp.response(200, rs.RulesCheck)
    def post(self, files: dict[str, str]) -> dict[str, Any]:
        """Validate candidate rule files without activating them; lists every problem."""
        problems = rules.check_files(files)
        return {"valid": not problems, "problems": problems}


@blp.route("/rules/explain")
class ExplainRules(MethodView):
    @require_roles("marketing")
    @blp.arguments(rq.ExplainSchema(), as_kwargs=True)
    @blp.response(200, rs.Explanation)
    def post(
        self, member_id: str, event: RecordTransaction | RecordEvent, files: dict[str, str] | None
    ) -> dict[str, Any]:
        """Which rules would fire for this member and event, and why; nothing is recorded."""
        return rules.explain(service_context(), member_id, event, files)


@blp.route("/rules/backtests")
class Backtests(MethodView):
    @require_roles("marketing")
    @blp.arguments(rq.BacktestSchema(), as_kwargs=True)
    @blp.response(200, rs.BacktestReport)
    @blp.alt_response(200, description="The report as a page with charts (format html).",
                      content_type="text/html", success=True)
    def post(self, files: dict[str, str], from_: datetime, to: datetime, against: int | None,
             ignore_windows: bool, shard: Shard | None, format: str) -> Any:
        """Replay a recorded period against draft rules and the rules in force (or version
        `against`), and report what the draft would have cost. Nothing is written."""
        which = HistoryFilter() if shard is None else HistoryFilter(
            shard_index=shard.index, shard_count=shard.count)
        report = backtests.backtest(service_context(), files, start=from_, end=to, against=against,
                          ignore_windows=ignore_windows, which=which)
        if format == "html":
            return Response(render_html(report), mimetype="text/html")
        return report


@blp.route("/rules/activate")
class ActivateRules(MethodView):
    @require_roles("admin")
    @blp.arguments(rq.ActivateRulesSchema(), as_kwargs=True, required=False)
    @blp.response(201, rs.RulesVersion)
    def post(self, files: dict[str, str] | None = None) -> dict[str, Any]:
        """Activate rule files (absent: the server's rules directory) as a new version."""
        return rules.activate(service_context(), files, activated_by=current_key().name)


@blp.route("/rules/versions")
class RuleVersions(MethodView):
    @require_roles("marketing")
    @blp.response(200, rs.RulesVersions)
    def get(self) -> dict[str, Any]:
        """Every activated version, newest first."""
        return {"versions": rules.list_versions(service_context())}


@blp.route("/rules/versions/<int:version>")
class RuleVersion(MethodView):
    @require_roles("marketing")
    @blp.response(200, rs.RulesVersion)
    def get(self, version: int) -> dict[str, Any]:
        """One activated version, with its files."""
        return rules.get_version(service_context(), version)
