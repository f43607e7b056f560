"""A member's relatives and important dates: record, read, remove."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import relations as rel
from loyalty.api.schemas import responses as rs
from loyalty.domain.relations import MAX_DATES, MAX_RELATIVES, AddDate, AddRelative
from loyalty.services import relations

blp = Blueprint("relations", __name__,
                description="The people who matter to a member and the days to remember")

ROLES = ("pos", "adjust")


@blp.route("/members/<member_id>/relatives")
class Relatives(MethodView):
    @require_roles(*ROLES)
    @blp.no_query()
    @blp.arguments(rel.AddRelativeSchema(live=True))
    @blp.response(201, rel.Relative, headers=REPLAY_DOC)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`idempotency_conflict`")
    @blp.alt_response(422, schema=rs.Error,
                      description=f"`validation_error`, `too_many_entries` (at most "
                                  f"{MAX_RELATIVES} relatives a member)")
    def post(self, command: AddRelative, member_id: str) -> tuple[Any, ...]:
        """Record a relative; the same relative_id with the same body replays."""
        recorded = relations.add_relative(service_context(),
                                          stamped(command, member_id=member_id))
        return recorded_response(recorded)

    @require_roles(*ROLES)
    @blp.no_query()
    @blp.response(200, rel.Relatives)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str) -> dict[str, Any]:
        """The member's relatives, in the order they were recorded."""
        return relations.list_relatives(service_context(), member_id)


@blp.route("/members/<member_id>/relatives/<relative_id>")
class RelativeResource(MethodView):
    @require_roles(*ROLES)
    @blp.no_query()
    @blp.response(204)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`, `unknown_relative`")
    def delete(self, member_id: str, relative_id: str) -> None:
        """Remove a relative and every date naming them; removing it again answers the same."""
        relations.remove_relative(service_context(), member_id, relative_id)


@blp.route("/members/<member_id>/dates")
class Dates(MethodView):
    @require_roles(*ROLES)
    @blp.no_query()
    @blp.arguments(rel.AddDateSchema(live=True))
    @blp.response(201, rel.ImportantDate, headers=REPLAY_DOC)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`idempotency_conflict`")
    @blp.alt_response(422, schema=rs.Error,
                      description=f"`validation_error` (no such day, an unknown relative...), "
                                  f"`too_many_entries` (at most {MAX_DATES} dates a member)")
    def post(self, command: AddDate, member_id: str) -> tuple[Any, ...]:
        """Record an important date; the same date_id with the same body replays."""
        recorded = relations.add_date(service_context(), stamped(command, member_id=member_id))
        return recorded_response(recorded)

    @require_roles(*ROLES)
    @blp.no_query()
    @blp.response(200, rel.ImportantDates)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str) -> dict[str, Any]:
        """The member's important dates, the soonest first, each with when it next comes."""
        return relations.list_dates(service_context(), member_id)


@blp.route("/members/<member_id>/dates/<date_id>")
class DateResource(MethodView):
    @require_roles(*ROLES)
    @blp.no_query()
    @blp.response(204)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`, `unknown_date`")
    def delete(self, member_id: str, date_id: str) -> None:
        """Remove an important date; removing it again answers the same."""
        relations.remove_date(service_context(), member_id, date_id)
