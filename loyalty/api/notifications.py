"""Notifications: the outbox, its dead letters and their replay, and the webhook endpoints the
delivery process sends to."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import current_key, require_roles
from loyalty.api.context import service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import notifications as ns
from loyalty.api.schemas import responses as rs
from loyalty.services import notifications
from loyalty.services.audit import Actor

blp = Blueprint("notifications", __name__,
                description="Notifications to members and systems, and where they are sent")


def _actor() -> Actor:
    return Actor(current_key().name, "key")


@blp.route("/notifications")
class Notifications(MethodView):
    @require_roles("marketing", "adjust")
    @blp.arguments(ns.NotificationQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, ns.NotificationPage)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, limit: int, status: str | None = None, member_id: str | None = None,
            kind: str | None = None, cursor: int | None = None) -> dict[str, Any]:
        """Notifications newest first, by state (`status=dead`: the dead letters), member and
        kind; paginated by `cursor`."""
        return notifications.list_notifications(service_context(), status=status,
                                                 member_id=member_id, kind=kind,
                                                 cursor=cursor, limit=limit)


@blp.route("/notifications/<notification_id>")
class NotificationResource(MethodView):
    @require_roles("marketing", "adjust")
    @blp.no_query()
    @blp.response(200, ns.Notification)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_notification`")
    def get(self, notification_id: str) -> dict[str, Any]:
        """One notification, with its delivery to each endpoint and the last error."""
        return notifications.get_notification(service_context(), notification_id)


@blp.route("/notifications/<notification_id>/replay")
class Replay(MethodView):
    @require_roles("admin")
    @blp.no_query()
    @blp.response(200, ns.Notification)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_notification`")
    @blp.alt_response(409, schema=rs.Error, description=(
        "`not_replayable`: it is not a dead letter (nor cancelled), or the member's personal "
        "data was erased"))
    def post(self, notification_id: str) -> dict[str, Any]:
        """Queue a dead letter again, due now, with a new retry period: the delivery process
        sends it to every endpoint it has not reached yet. Replaying one already queued again
        answers 409."""
        return notifications.replay(service_context(), notification_id, _actor())


@blp.route("/members/<member_id>/notifications")
class MemberNotifications(MethodView):
    @require_roles("marketing", "adjust")
    @blp.arguments(ns.MemberNotificationQuerySchema(), location="query", as_kwargs=True)
    @blp.response(200, ns.NotificationPage)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    def get(self, member_id: str, limit: int, status: str | None = None,
            kind: str | None = None, cursor: int | None = None) -> dict[str, Any]:
        """The member's notifications newest first, whatever their state; paginated."""
        return notifications.list_notifications(service_context(), status=status,
                                                 member_id=member_id, kind=kind,
                                                 cursor=cursor, limit=limit)


@blp.route("/webhooks")
class Webhooks(MethodView):
    @require_roles("admin")
    @blp.no_query()
    @blp.response(200, ns.WebhookList)
    def get(self) -> dict[str, Any]:
        """The endpoints notifications are delivered to (their secrets are never shown)."""
        return notifications.list_webhooks(service_context())

    @require_roles("admin")
    @blp.no_query()
    @blp.arguments(ns.NewWebhookSchema())
    @blp.response(201, ns.Webhook)
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Add an endpoint for the notifications of some kinds and channels (none: all). The
        answer holds the secret its requests are signed with, shown this once."""
        added = notifications.add_webhook(
            service_context(), body["url"], kinds=body.get("kinds"),
            channels=body.get("channels"), description=body.get("description"),
            actor=_actor())
        return added, 201


@blp.route("/webhooks/<endpoint_id>")
class WebhookResource(MethodView):
    @require_roles("admin")
    @blp.no_query()
    @blp.response(200, ns.WebhookRemoved)
    @blp.alt_response(404, schema=rs.Error, description="`unknown_webhook`")
    def delete(self, endpoint_id: str) -> dict[str, Any]:
        """Stop delivering to an endpoint; its past deliveries stay on record."""
        return notifications.remove_webhook(service_context(), endpoint_id, _actor())
