"""Requests of marketing and administration: rule files and drafts and the decisions on them,
explanations, backtests, the audit log and sweeps."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from loyalty.api.schemas.fields import MAX_INT32, Instant, Text
from loyalty.api.schemas.requests import (
    Cursor,
    EventSchema,
    MemberId,
    StrictSchema,
    TransactionSchema,
)
from loyalty.services.audit import ACTIONS as AUDIT_ACTIONS
from loyalty.services.sweep.base import Shard

#: A rule file's name: letters, digits, `_`, `.` and `-`, ending in .yaml or .yml.
RULE_FILE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.ya?ml$"
#: How many actions the audit log may be filtered by at once.
MAX_FILTER_VALUES = 20


def VersionNumber(**kwargs: Any) -> fields.Integer:
    """A rules version number."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_INT32), **kwargs)


def RuleFiles(**kwargs: Any) -> fields.Dict:
    """Rule files by name (`*.yaml`), each with its full text."""
    return fields.Dict(
        keys=fields.String(
            validate=validate.Regexp(RULE_FILE_NAME, error="A file name ending in .yaml.")
        ),
        values=fields.String(validate=validate.Length(max=1_000_000)),
        metadata={"example": {"earn.yaml": "rules: []\n"}} | kwargs.pop("metadata", {}),
        **kwargs,
    )


#: Rule files' text is screened by the rule check, which names the file and line.
RULE_FILES_SCREENED = ("files",)


class RuleFilesSchema(StrictSchema):
    screened_elsewhere = RULE_FILES_SCREENED
    files = RuleFiles(required=True)


def Reason(**kwargs: Any) -> fields.String:
    """Why: a person's words, kept in the audit log."""
    return fields.String(validate=validate.Length(max=2000), metadata={
        "example": "Weekend campaign approved by the store managers"} | kwargs.pop("metadata", {}),
        **kwargs)


class ActivateRulesSchema(StrictSchema):
    screened_elsewhere = RULE_FILES_SCREENED
    files = RuleFiles(
        load_default=None,
        metadata={"description": "Rule files to activate; absent: the server's rules directory."},
    )
    reason = Reason(required=True)
    at = Instant(load_default=None, metadata={
        "description": "Take over at this instant at every till; absent: now."})


class DraftSchema(StrictSchema):
    """A set of rule files proposed as the next version. Also accepted as a multipart form:
    one `files` part per file (its file name kept) and a `note` field."""

    screened_elsewhere = RULE_FILES_SCREENED
    files = RuleFiles(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "What the change is for, for whoever reviews it."})


class DraftReplaceSchema(StrictSchema):
    screened_elsewhere = RULE_FILES_SCREENED
    files = RuleFiles(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class DraftQuerySchema(StrictSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(
        ["draft", "submitted", "approved", "rejected", "withdrawn", "activated", "scheduled"]))


class ReasonSchema(StrictSchema):
    reason = Reason(load_default=None)


class RequiredReasonSchema(StrictSchema):
    reason = Reason(required=True)


class ActivateDraftSchema(StrictSchema):
    reason = Reason(required=True)
    at = Instant(load_default=None, metadata={
        "description": "Take over at this instant at every till; absent: now."})


class RollbackSchema(StrictSchema):
    version = VersionNumber(required=True, metadata={
        "description": "The version whose exact content becomes the rules in force again."})
    reason = Reason(required=True)


#: A version number (at most 9 digits) or a draft id.
VERSION_OR_DRAFT = r"^([1-9][0-9]{0,8}|d-[0-9a-f]{1,32})$"


def VersionOrDraft(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(
        VERSION_OR_DRAFT, error="A version number or a draft id (d-...)."), **kwargs)


class DiffQuerySchema(StrictSchema):
    from_ = VersionOrDraft(required=True, data_key="from")
    to = VersionOrDraft(required=True)


class AuditQuerySchema(StrictSchema):
    action = fields.List(
        fields.String(validate=validate.OneOf(AUDIT_ACTIONS)), load_default=None,
        validate=validate.Length(max=MAX_FILTER_VALUES), metadata={
            "description": "Only these actions (repeat the parameter for several)."})
    actor = Text(max_length=200, load_default=None)
    subject = Text(max_length=200, load_default=None, metadata={"example": "version 3"})
    from_ = Instant(load_default=None, data_key="from")
    to = Instant(load_default=None)
    cursor = Cursor(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ExplainSchema(StrictSchema):
    screened_elsewhere = RULE_FILES_SCREENED
    member_id = MemberId(required=True)
    event = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "A transaction or event body, as it would be posted."},
    )
    files = RuleFiles(
        load_default=None,
        metadata={"description": "Candidate rule files; absent: the active rules."},
    )

    @post_load
    def parse_event(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """The event is a transaction body (it has a transaction_id) or an event body."""
        event = {"member_id": data["member_id"], **data["event"]}
        schema: Schema = TransactionSchema() if "transaction_id" in event else EventSchema()
        try:
            data["event"] = schema.load(event)
        except ValidationError as error:
            raise ValidationError({"event": error.messages}) from error
        return data


class ShardField(fields.Field):
    """A shard as `K/N`: this process sweeps members whose bucket % N == K - 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Shard:
        try:
            return Shard.parse(str(value))
        except ValueError as error:
            raise ValidationError(str(error)) from error


class SweepSchema(StrictSchema):
    as_of = Instant(required=True, metadata={"description": "Run every time rule as of this."})
    shard = ShardField(load_default=None, metadata={"type": "string", "example": "2/4",
                                                    "description": "K/N; absent: all members"})
    batch_size = fields.Integer(load_default=2000, validate=validate.Range(min=1, max=50_000))
    allow_future = fields.Boolean(load_default=False, metadata={"description": (
        "Run even though `as_of` is more than the future tolerance ahead of the clock: such a "
        "sweep expires points and moves members early, and cannot be undone.")})


class DraftBacktestSchema(StrictSchema):
    from_ = Instant(required=True, data_key="from", metadata={
        "description": "Start of the period (recorded occurrences from this instant)."})
    to = Instant(required=True, metadata={"description": "End of the period (inclusive)."})
    against = VersionNumber(load_default=None, metadata={
        "description": "A stored version to compare with; absent: the versions in force."})
    ignore_windows = fields.Boolean(load_default=False, metadata={"description": (
        "Evaluate the draft's rules as if their from/until dates covered the period.")})
    shard = ShardField(load_default=None, metadata={"type": "string", "example": "2/4",
                                                    "description": "K/N; absent: all members"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html"]),
                           metadata={"description": "json (default) or html (a page with "
                                                    "charts, as text/html)"})


class BacktestSchema(DraftBacktestSchema):
    screened_elsewhere = RULE_FILES_SCREENED
    files = RuleFiles(required=True, metadata={"description": "The draft rule files."})
