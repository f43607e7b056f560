"""Schemas of a member's profile after enrolment: the edit, the lookup by phone or e-mail, the
history of changes and the erasure of personal data."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from loyalty.api.schemas.fields import FreeForm, Instant, Text
from loyalty.api.schemas.requests import (
    MAX_TAGS,
    TAG_LENGTH,
    ConsentsSchema,
    Cursor,
    StrictSchema,
)
from loyalty.api.schemas.responses import Body
from loyalty.domain.profile import EDITABLE

PHONE = validate.Regexp(r"^[0-9+() .-]{3,40}$", error="Not a valid phone number.")
REASON_LENGTH = 500


def _trimmed_email(data: Any) -> Any:
    email = data.get("email") if isinstance(data, dict) else None
    if isinstance(email, str):
        return {**data, "email": email.strip().lower()}
    return data


class ProfileEditSchema(StrictSchema):
    """The fields to change; a field left out stays as it is."""

    error_messages = {"unknown": (
        "Unknown field, or one that is not changed this way; a profile edit may change: "
        f"{', '.join(EDITABLE)}.")}

    name = Text(max_length=200, allow_none=True)
    email = fields.Email(validate=validate.Length(max=320), allow_none=True, metadata={
        "description": "Compared without case or surrounding spaces; null removes it."})
    phone = fields.String(validate=PHONE, allow_none=True, metadata={
        "example": "+86 138 0000 0001", "description": (
            "Stored in E.164 form, as at enrolment; null removes it.")})
    birth_date = fields.Date(allow_none=True)
    gender = Text(max_length=20, allow_none=True)
    region = Text(max_length=100, allow_none=True)
    attributes = FreeForm(metadata={"description": (
        "Merged into the member's attributes: each one given replaces its old value; null "
        "removes it.")})
    tags = fields.List(Text(max_length=TAG_LENGTH), validate=validate.Length(max=MAX_TAGS),
                       metadata={"description": "Replaces the member's tags."})
    consents = fields.Nested(ConsentsSchema, metadata={
        "description": "Consent per channel: true given, false withdrawn; others unchanged."})

    @pre_load
    def trim_email(self, data: Any, **_: Any) -> Any:
        """An e-mail address is compared without surrounding spaces or case."""
        return _trimmed_email(data)


class LookupQuerySchema(StrictSchema):
    phone = fields.String(validate=PHONE, metadata={
        "example": "138 0000 0001",
        "description": "Read as at enrolment: without a country code, in the default region."})
    email = fields.Email(validate=validate.Length(max=320), metadata={
        "description": "Compared without case or surrounding spaces."})

    @pre_load
    def trim_email(self, data: Any, **_: Any) -> Any:
        return _trimmed_email(dict(data)) if hasattr(data, "get") else data

    @validates_schema
    def one_of(self, data: dict[str, Any], **_: Any) -> None:
        if ("phone" in data) == ("email" in data):
            message = "Give exactly one of phone and email."
            raise ValidationError({"phone": [message], "email": [message]})


class ChangesQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor()


class ErasureReasonSchema(StrictSchema):
    reason = Text(max_length=REASON_LENGTH, metadata={
        "example": "the member asked to be forgotten (ticket 4411)",
        "description": "Why: required, in the body or the query."})


class ProfileChange(Body):
    change_id = fields.Integer(required=True)
    field = fields.String(required=True, metadata={
        "example": "phone", "description": (
            "A profile field, `attributes.<name>` or `consents.<channel>`.")})
    old_value = fields.Raw(allow_none=True, metadata={
        "description": "null when there was none, or after the personal data was erased."})
    new_value = fields.Raw(allow_none=True)
    changed_at = Instant()
    actor = fields.String(required=True, metadata={"example": "till-s12"})
    source = fields.String(required=True, metadata={
        "example": "profile", "description": "profile, consent, merge or erasure."})


class ProfileChanges(Body):
    """A member's profile changes, newest first; pass `next_cursor` as `cursor` for more."""

    member_id = fields.String(required=True)
    changes = fields.List(fields.Nested(ProfileChange), required=True)
    next_cursor = fields.Integer(allow_none=True)


class Erasure(Body):
    """A member whose personal data is erased: the account and its points remain."""

    member_id = fields.String(required=True)
    erased_at = Instant()
    erased_now = fields.Boolean(required=True, metadata={
        "description": "false when it had been erased already (nothing changed)."})
