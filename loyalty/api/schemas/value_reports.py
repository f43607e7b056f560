"""The value reports (pyramid, value matrix, lifecycle flow): their query and their bodies."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from loyalty.api.schemas.fields import Money
from loyalty.api.schemas.requests import AsOfQuerySchema
from loyalty.api.schemas.responses import Body, _list_of
from loyalty.services.value_reports import DEFAULT_MONTHS, MAX_MONTHS
from loyalty.store.value_queries import BANDS

SHARE = ("A fraction from 0 to 1, rounded to 4 places; null when the total revenue is zero or "
         "less.")


class ValueReportQuerySchema(AsOfQuerySchema):
    """`as_of`: the instant the report is taken at (default: now); `months`: how many months
    of monthly snapshots, up to the month of `as_of`."""

    months = fields.Integer(
        load_default=DEFAULT_MONTHS, validate=validate.Range(min=1, max=MAX_MONTHS),
        metadata={"description": f"How many months of month-by-month figures, from 1 to "
                                 f"{MAX_MONTHS} (default {DEFAULT_MONTHS}).",
                  "example": DEFAULT_MONTHS})


def Share(**kwargs: Any) -> fields.Float:
    """A share of revenue."""
    return fields.Float(allow_none=True, metadata={"example": 0.8123, "description": SHARE},
                        **kwargs)


class TierRevenue(Body):
    tier = fields.String(required=True, metadata={"example": "gold"})
    members = fields.Integer(required=True)
    revenue = Money(required=True)
    share_of_revenue = Share(required=True)


class BandRevenue(Body):
    band = fields.String(required=True, metadata={
        "example": "top 1%", "description": "Members ranked by revenue, highest first: "
                                            + ", ".join(label for label, _ in BANDS) + "."})
    members = fields.Integer(required=True)
    revenue = Money(required=True)
    share_of_revenue = Share(required=True)


class TopFifth(Body):
    members = fields.Integer(required=True, metadata={
        "description": "A fifth of the members, rounded up: those with the highest revenue."})
    revenue = Money(required=True)
    share_of_revenue = Share(required=True)


class PyramidMonth(Body):
    month = fields.String(required=True, metadata={"example": "2026-01"})
    members = fields.Integer(required=True, metadata={
        "description": "Members in the month's snapshot."})
    revenue = Money(required=True, metadata={
        "description": "What they had spent over the 365 days up to the snapshot."})
    top_fifth_share = Share(required=True)


class PyramidReport(Body):
    as_of = fields.String(required=True)
    currency = fields.String(required=True, metadata={"example": "CNY"})
    window_days = fields.Integer(required=True, metadata={
        "example": 365, "description": "Revenue is purchases less returns over these days "
                                       "up to `as_of` (program.yaml `value.current_days`)."})
    members = fields.Integer(required=True)
    revenue = Money(required=True)
    tiers = _list_of(TierRevenue, required=True, metadata={"description": "Top tier first."})
    value_bands = _list_of(BandRevenue, required=True)
    top_fifth = fields.Nested(TopFifth, required=True)
    months = _list_of(PyramidMonth, required=True, metadata={
        "description": "Months with a snapshot, oldest first."})


class SegmentValue(Body):
    quadrant = fields.String(allow_none=True, required=True, metadata={
        "example": "keep", "description": "keep, grow, maintain or reduce_cost; null for a "
                                          "segment name program.yaml no longer gives."})
    segment = fields.String(required=True, metadata={"example": "keep"})
    members = fields.Integer(required=True)
    current_value = Money(required=True)
    potential_value = Money(required=True)
    revenue = Money(required=True)


class Move(Body):
    from_ = fields.String(data_key="from", attribute="from", allow_none=True, required=True,
                          metadata={"description": "Where the members stood the month before "
                                                   "(null: not valued then)."})
    to = fields.String(allow_none=True, required=True)
    members = fields.Integer(required=True)


class MatrixMonth(Body):
    month = fields.String(required=True, metadata={"example": "2026-01"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "Members per segment in the snapshot."})
    unvalued = fields.Integer(required=True)
    joined = fields.Integer(required=True, metadata={
        "description": "Members with no snapshot the month before."})
    moves = _list_of(Move, required=True, metadata={
        "description": "From the month before to this month; staying is a move to itself."})


class ValueMatrixReport(Body):
    as_of = fields.String(required=True)
    currency = fields.String(required=True)
    window_days = fields.Integer(required=True)
    valued_at = fields.String(allow_none=True, required=True, metadata={
        "description": "When members were last valued (the latest valuation)."})
    segments = _list_of(SegmentValue, required=True)
    unvalued = fields.Integer(required=True, metadata={
        "description": "Members with no value yet."})
    months = _list_of(MatrixMonth, required=True)


class StageCount(Body):
    stage = fields.String(required=True, metadata={"example": "growing"})
    members = fields.Integer(required=True)


class Flow(Move):
    from_ = fields.String(data_key="from", attribute="from", allow_none=True, required=True,
                          metadata={"description": "The stage the month before."})


class LifecycleMonth(Body):
    month = fields.String(required=True, metadata={"example": "2026-01"})
    stages = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    joined = fields.Integer(required=True, metadata={
        "description": "Members with no snapshot the month before."})
    flows = _list_of(Flow, required=True, metadata={
        "description": "From the month before to this month; staying is a flow to itself."})


class LifecycleReport(Body):
    as_of = fields.String(required=True)
    stages = _list_of(StageCount, required=True)
    months = _list_of(LifecycleMonth, required=True)
