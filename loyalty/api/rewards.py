"""The rewards catalogue and redemptions with points."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import requests as rq
from loyalty.api.schemas import responses as rs
from loyalty.domain.commands import Redeem
from loyalty.services import rewards

blp = Blueprint("rewards", __name__, description="Rewards catalogue and redemptions")


@blp.route("/rewards")
class Rewards(MethodView):
    @require_roles("pos", "marketing")
    @blp.arguments(rq.AsOfQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.Catalogue)
    def get(self, as_of: Any = None) -> dict[str, Any]:
        """The catalogue: id, name, points cost, stock and validity of every reward."""
        return {"rewards": rewards.catalogue(service_context(), as_of)}


@blp.route("/members/<member_id>/redemptions")
class Redemptions(MethodView):
    @require_roles("pos")
    @blp.no_query()
    @blp.arguments(rq.RedeemSchema(live=True))
    @blp.response(201, rs.Redemption, headers=REPLAY_DOC)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`, `unknown_reward`")
    @blp.alt_response(409, schema=rs.Error,
                      description="`idempotency_conflict`, `out_of_stock`")
    def post(self, command: Redeem, member_id: str) -> tuple[Any, ...]:
        """Redeem points for a reward; the same redemption_id again replays the answer."""
        recorded = rewards.redeem(service_context(), stamped(command, member_id=member_id))
        return recorded_response(recorded)
