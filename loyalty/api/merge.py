"""Merging a duplicate member into another (admin)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import merge as ms
from loyalty.api.schemas import responses as rs
from loyalty.domain.errors import MemberMerged
from loyalty.domain.merge import MergeMembers
from loyalty.services import merge
from loyalty.services.audit import Actor

blp = Blueprint("merge", __name__, description="Merge a duplicate member into another")


@blp.route("/members/<member_id>/merge")
class MergeResource(MethodView):
    @require_roles("admin")
    @blp.no_query()
    @blp.arguments(ms.MergeSchema())
    @blp.response(201, ms.MergeOutcome, headers=REPLAY_DOC)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error,
                      description="`member_merged` (either member was merged already), "
                                  "`member_erased`, `idempotency_conflict`")
    @blp.alt_response(422, schema=rs.Error, description="`validation_error`")
    def post(self, command: MergeMembers, member_id: str) -> tuple[Any, ...]:
        """Fold `duplicate_id` into this member: points and lots (with their dates), history,
        rewards, offers and contact details move; the duplicate's id then points here. The
        same merge_id replays."""
        actor = Actor(current_key().name, "key")
        recorded = merge.merge_members(service_context(),
                                       stamped(command, member_id=member_id), actor)
        return recorded_response(recorded)


def merged_pointer(error: MemberMerged, endpoint: str) -> Response:
    """301 to the surviving member, the same view and query, saying so in the body."""
    survivor = error.details["merged_into"]
    location = url_for(endpoint, member_id=survivor)
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    response = jsonify({"code": error.code, "message": error.message,
                        "details": dict(error.details), "error": error.code,
                        "merged_into": survivor})
    response.status_code = 301
    response.headers["Location"] = location
    return response
