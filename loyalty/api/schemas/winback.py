"""The win-back report: its query, and the experiments of rules with a control group."""

from __future__ import annotations

from marshmallow import fields

from loyalty.api.schemas.fields import Money
from loyalty.api.schemas.requests import AsOfQuerySchema
from loyalty.api.schemas.responses import Body, _list_of, _nested
from loyalty.api.schemas.responses import WinbackReport as OffersReport


class WinbackQuerySchema(AsOfQuerySchema):
    """`as_of`: the instant the experiments are judged at (default: now); only decisions whose
    window has closed by then are counted."""


class WinbackGroup(Body):
    """One group of an experiment: the members the rule acted for (`offer`), or those it set
    aside (`control`)."""

    members = fields.Integer(required=True, metadata={
        "description": "Decisions whose window has closed (a member decided for again later "
                       "counts again)."})
    returned = fields.Integer(required=True, metadata={
        "description": "Of those, how many bought again within the window."})
    return_rate = fields.Float(allow_none=True, metadata={
        "example": 0.2312, "description": "returned / members; null without members."})
    spend = Money(required=True, metadata={
        "description": "What their purchases within the window cost, together."})
    spend_per_member = Money(allow_none=True)
    open = fields.Integer(required=True, metadata={
        "description": "Decisions whose window is still open at `as_of`: not counted yet."})


class WinbackUplift(Body):
    """Offer minus control, with normal-approximation intervals: the Wald interval for the
    difference in return rate, Welch's standard error for the difference in spend per member.
    Null where a group has too few members (none for the rate, under two for the spend)."""

    return_rate = fields.Float(allow_none=True, metadata={"example": 0.081})
    return_rate_low = fields.Float(allow_none=True)
    return_rate_high = fields.Float(allow_none=True)
    spend_per_member = Money(allow_none=True)
    spend_per_member_low = Money(allow_none=True)
    spend_per_member_high = Money(allow_none=True)
    confidence = fields.Float(required=True, metadata={"example": 0.95})


class WinbackExperiment(Body):
    """A rule with a holdout (a changed percent or window is another experiment)."""

    rule_id = fields.String(required=True, metadata={"example": "winback-lapsed"})
    campaign = fields.String(allow_none=True)
    percent = fields.Integer(required=True, metadata={
        "example": 10, "description": "The share of members set aside."})
    within_days = fields.Integer(required=True, metadata={
        "example": 60, "description": "How long after the decision a purchase counts as "
                                      "coming back."})
    offer = _nested(WinbackGroup, required=True)
    control = _nested(WinbackGroup, required=True)
    uplift = _nested(WinbackUplift, required=True)
    offers_used = fields.Integer(required=True, metadata={
        "description": "Offers the offer group's counted decisions issued that were used."})
    cost_points = fields.Integer(required=True, metadata={
        "description": "Points the rule gave for those decisions (offers used, awards)."})
    cost = fields.String(allow_none=True, metadata={
        "example": "25.00", "description": "cost_points x point_value; null when program.yaml "
                                           "declares no point_value."})


class WinbackReport(OffersReport):
    """Win-back offers issued and used; and, for each rule with a control group, the members
    who got it against those set aside."""

    as_of = fields.String(required=True)
    currency = fields.String(required=True)
    experiments = _list_of(WinbackExperiment, required=True)
