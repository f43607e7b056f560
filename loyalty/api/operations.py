"""Administration and reports: running the sweep, the pyramid, and win-back returns."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import liability as li
from loyalty.api.schemas import programme_requests as pr
from loyalty.api.schemas import responses as rs
from loyalty.api.schemas import value_reports as vr
from loyalty.api.schemas import winback as wb
from loyalty.services import reports, value_reports
from loyalty.services.audit import Actor
from loyalty.services.liability import liability
from loyalty.services.sweep import Shard, run_sweep

blp = Blueprint("operations", __name__, description="Sweeps and reports")


@blp.route("/sweeps")
class Sweeps(MethodView):
    @require_roles("admin")
    @blp.no_query()
    @blp.arguments(pr.SweepSchema(), as_kwargs=True)
    @blp.response(201, rs.SweepReport)
    def post(self, as_of: Any, shard: Shard | None, batch_size: int,
             allow_future: bool) -> dict[str, Any]:
        """Run the sweep as of an instant (idempotent: a second run changes nothing); an
        `as_of` more than the future tolerance ahead is refused unless `allow_future`."""
        return run_sweep(service_context(), as_of, shard=shard, batch_size=batch_size,
                         allow_future=allow_future,
                         actor=Actor(current_key().name, "key"))


@blp.route("/reports/overview")
class Overview(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, rs.Overview)
    def get(self) -> dict[str, Any]:
        """The value pyramid (members per tier), VIPs, and the lifecycle distribution."""
        return reports.overview(service_context())


@blp.route("/reports/winback")
class Winback(MethodView):
    @require_roles("marketing")
    @blp.arguments(wb.WinbackQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, wb.WinbackReport)
    def get(self, as_of: Any = None) -> dict[str, Any]:
        """Win-back offers issued and used, members won back, and their spend since; and for
        each rule with a control group (holdout), the members who got it against those set
        aside: return rate and spend per member in the window, the difference with its
        normal-approximation 95% interval, and what the offers used cost. Only decisions
        whose window has closed by `as_of` (default: now) count."""
        return reports.winback(service_context(), as_of)


@blp.route("/reports/returned-rewards")
class ReturnedRewards(MethodView):
    @require_roles("marketing")
    @blp.no_query()
    @blp.response(200, rs.ReturnedRewardsReport)
    def get(self) -> dict[str, Any]:
        """Rewards that came back with returned purchases: revoked when unused, kept (and
        listed here) when the member had used them already."""
        return reports.returned_rewards(service_context())


@blp.route("/reports/liability")
class Liability(MethodView):
    @require_roles("marketing")
    @blp.arguments(li.LiabilityQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, li.LiabilityReport)
    def get(self, as_of: Any = None) -> dict[str, Any]:
        """Outstanding points by bucket and their value at `point_value`, the points expiring
        in the next 30, 90 and 365 days, and the redemption rate (last 365 days and ever)."""
        return liability(service_context(), as_of)


@blp.route("/reports/pyramid")
class Pyramid(MethodView):
    @require_roles("marketing")
    @blp.arguments(vr.ValueReportQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, vr.PyramidReport)
    def get(self, months: int, as_of: Any = None) -> dict[str, Any]:
        """Members and revenue per tier and per value band, the top fifth's share of revenue
        (the 80/20 check), and that share month by month from the monthly snapshots."""
        return value_reports.pyramid(service_context(), as_of, months)


@blp.route("/reports/value-matrix")
class ValueMatrix(MethodView):
    @require_roles("marketing")
    @blp.arguments(vr.ValueReportQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, vr.ValueMatrixReport)
    def get(self, months: int, as_of: Any = None) -> dict[str, Any]:
        """Members per value segment with their current and potential value and revenue, and
        month by month the members of each segment and their moves between segments."""
        return value_reports.value_matrix(service_context(), as_of, months)


@blp.route("/reports/lifecycle")
class Lifecycle(MethodView):
    @require_roles("marketing")
    @blp.arguments(vr.ValueReportQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, vr.LifecycleReport)
    def get(self, months: int, as_of: Any = None) -> dict[str, Any]:
        """Members per lifecycle stage, and month by month the members in each stage and the
        flows between stages."""
        return value_reports.lifecycle(service_context(), as_of, months)
