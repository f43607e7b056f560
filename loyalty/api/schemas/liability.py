"""The points liability report: its query and its body."""

from __future__ import annotations

from marshmallow import fields

from loyalty.api.schemas.requests import AsOfQuerySchema
from loyalty.api.schemas.responses import Body, _list_of


class LiabilityQuerySchema(AsOfQuerySchema):
    """`as_of`: the instant the report is taken at (default: now)."""


class LiabilityPoints(Body):
    points = fields.Integer(required=True)
    value = fields.String(allow_none=True, metadata={
        "example": "1234.50", "description": "points x point_value; null when program.yaml "
                                             "declares no point_value."})


class LiabilityBuckets(Body):
    available = fields.Nested(LiabilityPoints, required=True)
    pending = fields.Nested(LiabilityPoints, required=True)
    debt = fields.Nested(LiabilityPoints, required=True)


class LiabilityExpiring(LiabilityPoints):
    within_days = fields.Integer(required=True, metadata={"example": 30})


class LiabilityRedemption(Body):
    earned = fields.Integer(required=True)
    redeemed = fields.Integer(required=True)
    rate = fields.Float(allow_none=True, metadata={
        "example": 0.25, "description": "redeemed / earned; null when nothing was earned."})


class LiabilityRedemptionRates(Body):
    last_365_days = fields.Nested(LiabilityRedemption, required=True)
    lifetime = fields.Nested(LiabilityRedemption, required=True)


class LiabilityReport(Body):
    as_of = fields.String(required=True)
    currency = fields.String(required=True)
    point_value = fields.String(allow_none=True, metadata={"example": "0.01"})
    outstanding = fields.Nested(LiabilityBuckets, required=True)
    expiring = _list_of(LiabilityExpiring, required=True)
    redemption = fields.Nested(LiabilityRedemptionRates, required=True)
