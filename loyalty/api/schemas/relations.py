"""Relatives and important dates: what a till sends to record them, and what it reads back."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from loyalty.api.context import current_service
from loyalty.api.schemas.fields import Id, Instant, Text
from loyalty.api.schemas.requests import LiveSchema
from loyalty.api.schemas.responses import Body
from loyalty.domain.relations import (
    DATE_KINDS,
    EARLIEST_YEAR,
    RELATIONS,
    AddDate,
    AddRelative,
)
from loyalty.services.relations import date_fields

NAME_LENGTH = 200
LABEL_LENGTH = 100


class AddRelativeSchema(LiveSchema):
    """A relative of the member in the path."""

    relative_id = Id(required=True, metadata={
        "example": "REL-M-1001-1",
        "description": "Chosen by the caller, unique for good: sent again with the same body "
                       "it answers as the first time; with another body, 409."})
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS),
                             metadata={"example": "spouse"})
    name = Text(max_length=NAME_LENGTH, required=True, metadata={"example": "Mei"})

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> AddRelative:
        return AddRelative(**data, member_id="", fingerprint="")


class AddDateSchema(LiveSchema):
    """An important date of the member in the path: a relative's birthday, a wedding
    anniversary, or any occasion with a label; it comes back every year."""

    date_id = Id(required=True, metadata={
        "example": "DATE-M-1001-1",
        "description": "Chosen by the caller, unique for good, like `relative_id`."})
    kind = fields.String(required=True, validate=validate.OneOf(DATE_KINDS),
                         metadata={"example": "birthday"})
    month = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=12),
                           metadata={"example": 12})
    day = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=31),
                         metadata={"example": 3})
    year = fields.Integer(strict=True, allow_none=True, load_default=None,
                          validate=validate.Range(min=EARLIEST_YEAR, max=9999),
                          metadata={"example": 1990, "description": (
                              "When known: the year of birth, of the wedding. The date comes "
                              "back every year after it. 29 February is remembered on 28 "
                              "February in other years.")})
    label = Text(max_length=LABEL_LENGTH, allow_none=True, load_default=None,
                 metadata={"example": "first date", "description": "Required for `other`."})
    relative_id = Id(allow_none=True, load_default=None, metadata={
        "example": "REL-M-1001-1",
        "description": "Whose date it is: one of the member's relatives; required for a "
                       "`birthday` (the member's own is their birth date)."})

    @validates_schema(skip_on_field_errors=False)
    def check_date(self, data: dict[str, Any], **_: Any) -> None:
        """A real day that has happened; a birthday is a relative's; `other` says what it is."""
        errors: dict[str, list[str]] = {}
        if isinstance(data.get("month"), int) and isinstance(data.get("day"), int) \
                and not isinstance(data.get("year"), bool):
            ctx = current_service() if self.live else None
            today = ctx.clock().date() if ctx is not None else date.max
            errors.update(date_fields(data["month"], data["day"], data.get("year"), today))
        if data.get("kind") == "birthday" and data.get("relative_id") is None:
            errors["relative_id"] = ["A birthday is a relative's: name the relative (the "
                                     "member's own birthday is their birth date)."]
        if data.get("kind") == "other" and data.get("label") is None:
            errors["label"] = ["Say what the occasion is, like 'first date'."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> AddDate:
        return AddDate(**data, member_id="", fingerprint="")


class Relative(Body):
    relative_id = fields.String(required=True)
    member_id = fields.String(required=True)
    relation = fields.String(required=True, metadata={"enum": list(RELATIONS)})
    name = fields.String(required=True)
    created_at = Instant()


class Relatives(Body):
    member_id = fields.String(required=True)
    relatives = fields.List(fields.Nested(Relative), required=True)


class ImportantDate(Body):
    date_id = fields.String(required=True)
    member_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": list(DATE_KINDS)})
    label = fields.String(allow_none=True)
    relative_id = fields.String(allow_none=True)
    relation = fields.String(allow_none=True, metadata={"description": "The relative's."})
    name = fields.String(allow_none=True, metadata={"description": "The relative's."})
    month = fields.Integer(required=True)
    day = fields.Integer(required=True)
    year = fields.Integer(allow_none=True)
    next_on = fields.String(required=True, metadata={
        "example": "2026-12-03", "description": "When it next comes (today included)."})
    created_at = Instant()


class ImportantDates(Body):
    member_id = fields.String(required=True)
    dates = fields.List(fields.Nested(ImportantDate), required=True,
                        metadata={"description": "Soonest first."})
