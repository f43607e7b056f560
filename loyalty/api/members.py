"""Members: enrol, the member as the till needs it, the ledger, and adjustments by hand."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.merge import merged_pointer
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import requests as rq
from loyalty.api.schemas import responses as rs
from loyalty.api.schemas.merge import MergedMember
from loyalty.domain.commands import Adjust, EnrolMember
from loyalty.domain.errors import MemberMerged
from loyalty.services import adjustments, members
from loyalty.services.audit import Actor

blp = Blueprint("members", __name__, description="Enrol members and read them")


@blp.route("/members")
class Members(MethodView):
    @require_roles("pos")
    @blp.no_query()
    @blp.arguments(rq.EnrolMemberSchema(live=True))
    @blp.response(201, rs.Member)
    @blp.alt_response(409, schema=rs.Error, description="`member_exists`")
    def post(self, command: EnrolMember) -> tuple[dict[str, Any], int]:
        """Enrol a member; an id, e-mail or phone already known answers 409 member_exists."""
        recorded = members.enrol(service_context(), command,
                                 Actor(current_key().name, "key"))
        return recorded.body, recorded.status


@blp.route("/members/<member_id>")
class MemberResource(MethodView):
    @require_roles("pos", "marketing", "adjust")
    @blp.arguments(rq.AsOfQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.Member)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(301, schema=MergedMember, description=(
        "`member_merged`: this member was merged into another, which `Location` and "
        "`merged_into` name"))
    def get(self, member_id: str, as_of: Any = None) -> Any:
        """The member: profile, tier, points, privileges active now, open offers."""
        try:
            return members.get_member(service_context(), member_id, as_of)
        except MemberMerged as merged:
            return merged_pointer(merged, "members.MemberResource")


@blp.route("/members/<member_id>/ledger")
class Ledger(MethodView):
    @require_roles("pos", "marketing", "adjust")
    @blp.arguments(rq.LedgerQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.LedgerPage)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str, limit: int, cursor: int | None = None) -> dict[str, Any]:
        """Every ledger entry, newest first, with what caused it; paginated by `cursor`."""
        return members.ledger_page(service_context(), member_id, limit=limit, cursor=cursor)


@blp.route("/members/<member_id>/tiers")
class TierHistory(MethodView):
    @require_roles("pos", "marketing", "adjust")
    @blp.no_query()
    @blp.response(200, rs.TierHistory)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str) -> dict[str, Any]:
        """The member's tier history: every change, newest first, with its date and reason."""
        return members.tier_history(service_context(), member_id)


@blp.route("/members/<member_id>/adjustments")
class Adjustments(MethodView):
    @require_roles("adjust")
    @blp.no_query()
    @blp.arguments(rq.AdjustSchema(live=True))
    @blp.response(201, rs.Adjustment, headers=REPLAY_DOC)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`idempotency_conflict`")
    @blp.alt_response(422, schema=rs.Error,
                      description="`validation_error`, `insufficient_points`")
    def post(self, command: Adjust, member_id: str) -> tuple[Any, ...]:
        """Add or remove points by hand, saying why; the same adjustment_id replays."""
        actor = Actor(current_key().name, "key")
        recorded = adjustments.adjust(service_context(), stamped(command, member_id=member_id),
                                      actor)
        return recorded_response(recorded)
