"""Schemas of merging a duplicate member into another, and of the pointer a merged id answers."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from loyalty.api.schemas.fields import Id, Instant
from loyalty.api.schemas.requests import MEMBER_ID_LENGTH, REASON_LENGTH, StrictSchema
from loyalty.api.schemas.responses import Balance, Body, Error
from loyalty.domain.merge import MergeMembers


class MergeSchema(StrictSchema):
    """Fold the duplicate into the member in the path (the survivor), saying why."""

    merge_id = Id(required=True, metadata={
        "example": "MRG-20261201-0001",
        "description": "The client's id for this merge: a repeat with it replays the answer."})
    duplicate_id = Id(required=True, max_length=MEMBER_ID_LENGTH, metadata={
        "example": "M-1002", "description": "The member folded in; its id then points here."})
    reason = fields.String(required=True, validate=validate.Length(max=REASON_LENGTH),
                           metadata={"example": "enrolled twice: a card and the app",
                                     "description": "Why; kept in the audit log."})

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> MergeMembers:
        return MergeMembers(**data, member_id="", fingerprint="")


class MovedPoints(Body):
    available = fields.Integer(required=True)
    pending = fields.Integer(required=True)
    debt = fields.Integer(required=True)
    lifetime = fields.Integer(required=True, metadata={
        "description": "Lifetime points earned by the duplicate, now counted for the member."})


class Moved(Body):
    points = fields.Nested(MovedPoints, required=True)
    lots = fields.Integer(required=True, metadata={
        "description": "Lots moved, each with its earned, pending-until and expiry instants."})
    rows = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True, metadata={
        "description": "Rows of the duplicate's history and holdings now the member's, by "
                       "table (transactions, events, rewards, offers, privileges ...)."})


class Identifiers(Body):
    moved = fields.List(fields.String(), required=True, metadata={
        "description": "The duplicate's contact fields the member had none of and took."})
    aliases = fields.List(fields.String(), required=True, metadata={
        "description": "The duplicate's contact fields kept as aliases: they find the member, "
                       "and nobody enrols with them."})


class TierOutcome(Body):
    before = fields.String(required=True)
    after = fields.String(required=True)
    changed = fields.Boolean(required=True)


class MergeOutcome(Body):
    """What a merge moved, and the surviving member's balance after it."""

    merge_id = fields.String(required=True)
    member_id = fields.String(required=True)
    duplicate_id = fields.String(required=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True)
    merged_at = Instant(required=True)
    moved = fields.Nested(Moved, required=True)
    identifiers = fields.Nested(Identifiers, required=True)
    profile_filled = fields.List(fields.String(), required=True, metadata={
        "description": "Profile fields (name, birth date ...) the member took, having none."})
    tier = fields.Nested(TierOutcome, required=True)
    balance = fields.Nested(Balance, required=True)


class MergedMember(Error):
    """The member was merged into another: `Location` and `merged_into` name it."""

    error = fields.String(required=True, metadata={"example": "member_merged"})
    merged_into = fields.String(required=True, metadata={"example": "M-1001"})
