"""Schemas of member tokens and of what a member app reads."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from loyalty.api.schemas.fields import Instant, Text
from loyalty.api.schemas.requests import StrictSchema
from loyalty.api.schemas.responses import Body, OfferHeld

TOKEN_NAME_LENGTH = 100


def _list_of(schema: type[Schema], **kwargs: Any) -> fields.List:
    return fields.List(fields.Nested(schema), **kwargs)


class IssueTokenSchema(StrictSchema):
    """A member token to issue: what it is for, and until when it holds (never: no expiry)."""

    name = Text(max_length=TOKEN_NAME_LENGTH, allow_none=True, load_default=None,
                metadata={"example": "Ann's phone",
                          "description": "What the token is for, shown when listing them."})
    expires_at = Instant(allow_none=True, load_default=None, metadata={
        "description": "When the token stops holding; must be in the future. Omitted: never "
                       "(until revoked)."})


class MemberTokenView(Body):
    """A member token as listed: never its secret."""

    token_id = fields.String(required=True, metadata={"example": "9f1c2a7b3d4e5f60"})
    member_id = fields.String(required=True, metadata={"example": "M-1001"})
    name = fields.String(allow_none=True)
    created_at = Instant()
    created_by = fields.String(metadata={"description": "The API key that issued it."})
    expires_at = Instant(allow_none=True)
    revoked_at = Instant(allow_none=True)
    revoked_by = fields.String(allow_none=True)
    status = fields.String(metadata={"example": "active",
                                     "description": "One of: active, expired, revoked."})


class IssuedToken(MemberTokenView):
    """A token just issued, with the bearer token itself: shown this once, never again."""

    token = fields.String(required=True, metadata={
        "example": "lm_9f1c2a7b3d4e5f60_Vq3...",
        "description": "Send as `Authorization: Bearer <token>` to the member app's "
                       "endpoints (/me...). Only its hash is kept: it cannot be shown again."})


class MemberTokenList(Body):
    member_id = fields.String(required=True)
    tokens = _list_of(MemberTokenView, required=True)


class VoucherHeld(Body):
    voucher_code = fields.String(required=True, metadata={"example": "3F9A0C21B7D4"})
    reward_id = fields.String(required=True, metadata={"example": "ICE-MAKER"})
    name = fields.String(allow_none=True, metadata={"description": "The catalogue's name."})
    description = fields.String(allow_none=True)
    quantity = fields.Integer()
    granted_at = Instant()
    valid_until = Instant(allow_none=True)


class MemberVouchers(Body):
    member_id = fields.String(required=True)
    vouchers = _list_of(VoucherHeld, required=True)


class OpenOffer(OfferHeld):
    issued_at = Instant()


class MemberOffers(Body):
    member_id = fields.String(required=True)
    offers = _list_of(OpenOffer, required=True)
