"""Other facts rules react to: service visits, complaints, referrals, surveys, custom events."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import requests as rq
from loyalty.api.schemas import responses as rs
from loyalty.domain.commands import RecordEvent
from loyalty.services import events

blp = Blueprint("events", __name__, description="Non-purchase events")


@blp.route("/events")
class Events(MethodView):
    @require_roles("pos")
    @blp.arguments(rq.DryRunQuerySchema(), location="query", as_kwargs=True)
    @blp.arguments(rq.EventSchema(live=True))
    @blp.response(201, rs.EventOutcome, headers=REPLAY_DOC)
    @blp.alt_response(200, schema=rs.EventOutcome, description="Dry run: nothing recorded")
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`idempotency_conflict`")
    def post(self, command: RecordEvent, dry_run: bool) -> tuple[Any, ...]:
        """Record an event; the same event_id again replays the answer."""
        recorded = events.record_event(service_context(), stamped(command), dry_run=dry_run)
        return recorded_response(recorded, dry_run=dry_run)
