"""Transfers of points between members: the request and the answer."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from loyalty.api.schemas.fields import Id, Instant
from loyalty.api.schemas.requests import REASON_LENGTH, LiveSchema, MemberId
from loyalty.api.schemas.responses import Balance, Body
from loyalty.domain.transfers import MAX_TRANSFER, Transfer


class TransferSchema(LiveSchema):
    """Points the member in the path gives another; `transfer_id` makes a repeat safe."""

    transfer_id = Id(required=True, metadata={"example": "TR-20261201-0001"})
    to_member_id = MemberId(required=True)
    points = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_TRANSFER),
        metadata={"example": 2000, "description": (
            "Available points to give (pending ones cannot be given); program.yaml "
            "`transfers:` sets the least and most one transfer moves, and how many a member "
            "may give a month.")})
    reason = fields.String(allow_none=True, load_default=None,
                           validate=validate.Length(max=REASON_LENGTH),
                           metadata={"example": "pooling for the family's ice maker"})

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> Transfer:
        return Transfer(**data, member_id="", fingerprint="")


class MovedLot(Body):
    points = fields.Integer(required=True)
    expires_at = Instant(allow_none=True, metadata={
        "description": "When these points expire, as they would have for the giver."})


class TransferDone(Body):
    """Points given: the lots they came from, and both balances after."""

    transfer_id = fields.String(required=True)
    member_id = fields.String(required=True, metadata={"description": "The giver."})
    to_member_id = fields.String(required=True)
    points = fields.Integer(required=True)
    reason = fields.String(allow_none=True)
    actor = fields.String(required=True)
    transferred_at = Instant()
    lots = fields.List(fields.Nested(MovedLot))
    balance = fields.Nested(Balance)
    to_balance = fields.Nested(Balance)
