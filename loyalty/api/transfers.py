"""Points one member gives another (a family pooling points)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import responses as rs
from loyalty.api.schemas import transfers as tr
from loyalty.domain.transfers import Transfer
from loyalty.services import transfers
from loyalty.services.audit import Actor

blp = Blueprint("transfers", __name__, description="Give points to another member")


@blp.route("/members/<member_id>/transfers")
class Transfers(MethodView):
    @require_roles("pos", "adjust")
    @blp.no_query()
    @blp.arguments(tr.TransferSchema(live=True))
    @blp.response(201, tr.TransferDone, headers=REPLAY_DOC)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member` (either member)")
    @blp.alt_response(409, schema=rs.Error,
                      description="`idempotency_conflict`, `member_merged`")
    @blp.alt_response(422, schema=rs.Error, description=(
        "`validation_error` (e.g. to the member themselves), `insufficient_points` (available "
        "points only), `transfer_refused` (program.yaml `transfers:`: not allowed, under "
        "min_points, over max_points, or max_per_month reached)"))
    def post(self, command: Transfer, member_id: str) -> tuple[Any, ...]:
        """Give available points to another member, keeping their expiry; the same
        transfer_id replays."""
        actor = Actor(current_key().name, "key")
        recorded = transfers.transfer(service_context(), stamped(command, member_id=member_id),
                                      actor)
        return recorded_response(recorded)
