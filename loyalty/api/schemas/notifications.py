"""Schemas of the notifications outbox and the webhook endpoints it is delivered to."""

from __future__ import annotations

from marshmallow import fields, validate

from loyalty.api.schemas.fields import Instant, Text
from loyalty.api.schemas.requests import Cursor, MemberId, StrictSchema
from loyalty.api.schemas.responses import Body
from loyalty.domain.messages import ALL_CHANNELS, STATUSES

MAX_FILTERS = 50


class NotificationQuerySchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={
        "description": f"Only notifications in this state: {', '.join(STATUSES)}; `dead` "
                       "lists the dead letters."})
    member_id = MemberId()
    kind = Text(max_length=64, metadata={"description": "The notification's name "
                                                        "(`birthday-greeting`, `tier_changed`)."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor()


class MemberNotificationQuerySchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = Text(max_length=64)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor()


class Delivery(Body):
    """A notification's delivery to one endpoint."""

    endpoint_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"example": "delivered",
                                                    "description": "delivered or failed"})
    attempts = fields.Integer()
    last_status = fields.Integer(allow_none=True, metadata={
        "description": "The HTTP status of the last answer (null: no answer)."})
    last_error = fields.String(allow_none=True)
    attempted_at = Instant(allow_none=True)
    delivered_at = Instant(allow_none=True)


class Notification(Body):
    """A notification of the outbox, and where its delivery is."""

    notification_id = fields.String(required=True, metadata={
        "description": "The id receivers see (JSON `id`): the same on every attempt."})
    member_id = fields.String(required=True)
    notification = fields.String(required=True, metadata={"example": "birthday-greeting"})
    channel = fields.String(required=True, metadata={
        "example": "sms", "description": f"One of: {', '.join(ALL_CHANNELS)}."})
    status = fields.String(required=True, metadata={
        "example": "pending", "description": f"One of: {', '.join(STATUSES)}."})
    template = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    message = fields.String()
    payload = fields.Dict(allow_none=True)
    attempts = fields.Integer()
    created_at = Instant()
    queued_at = Instant(allow_none=True)
    next_attempt_at = Instant(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = Instant(allow_none=True)
    source_id = fields.String()
    rule_id = fields.String(allow_none=True)
    ruleset_version = fields.String(allow_none=True)
    deliveries = fields.List(fields.Nested(Delivery))


class NotificationPage(Body):
    """Notifications, newest first; pass `next_cursor` as `cursor` for the next page."""

    notifications = fields.List(fields.Nested(Notification), required=True)
    next_cursor = fields.Integer(allow_none=True)


class NewWebhookSchema(StrictSchema):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                     validate=validate.Length(max=2000), metadata={
                         "example": "https://sms-gateway.example.com/loyalty"})
    kinds = fields.List(Text(max_length=64), validate=validate.Length(max=MAX_FILTERS),
                        metadata={"description": "Notification names it takes (none: all)."})
    channels = fields.List(fields.String(validate=validate.OneOf(ALL_CHANNELS)),
                           validate=validate.Length(max=len(ALL_CHANNELS)),
                           metadata={"description": "Channels it takes (none: all)."})
    description = Text(max_length=500, allow_none=True)


class Webhook(Body):
    endpoint_id = fields.String(required=True, metadata={"example": "wh_3f9a0c21b7d4e5f6"})
    url = fields.String(required=True)
    kinds = fields.List(fields.String())
    channels = fields.List(fields.String())
    description = fields.String(allow_none=True)
    created_at = Instant()
    created_by = fields.String()
    secret = fields.String(metadata={"description": (
        "The signing secret, in the answer that adds the endpoint only: keep it, it is not "
        "shown again.")})


class WebhookList(Body):
    webhooks = fields.List(fields.Nested(Webhook), required=True)


class WebhookRemoved(Body):
    endpoint_id = fields.String(required=True)
    removed_at = Instant()
