"""The audit log: who changed the programme, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import programme_requests as pr
from loyalty.api.schemas import responses as rs
from loyalty.services import audit

blp = Blueprint("audit", __name__, description="Who changed what, when and why")


@blp.route("/audit")
class AuditLog(MethodView):
    @require_roles("marketing")
    @blp.arguments(pr.AuditQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, rs.AuditPage)
    def get(self, action: list[str] | None, actor: str | None, subject: str | None,
            from_: datetime | None, to: datetime | None, cursor: int | None,
            limit: int) -> dict[str, Any]:
        """The audit log, newest first, filtered and paged by `next_cursor`. An administrator
        sees everything; marketing sees what concerns the rules."""
        visible = audit.ACTIONS if current_key().role == "admin" else audit.RULE_ACTIONS
        actions = [a for a in action if a in visible] if action else list(visible)
        return audit.read_log(service_context(), actions=actions, actor=actor,
                              subject=subject, since=from_, until=to, cursor=cursor,
                              limit=limit)
