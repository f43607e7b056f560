"""Request schemas: strict, and each loads straight into the command the service takes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from loyalty.api.context import current_service
from loyalty.api.schemas.fields import FreeForm, Id, Instant, Money, Text, positive_int
from loyalty.domain.attributes import attribute_problems
from loyalty.domain.commands import (
    Adjust,
    EnrolMember,
    LineIn,
    PaymentIn,
    RecordEvent,
    RecordTransaction,
    Redeem,
)
from loyalty.services.sweep.base import Shard

MEMBER_ID_LENGTH = 64
REWARD_ID_LENGTH = 64
MISSING = "Missing data for required field."
EVENT_TYPE = r"^[a-z][a-z0-9_.-]{0,39}$"
RULE_FILE_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.ya?ml$"
MAX_UNIT_PRICE = Decimal("10000000")
MAX_TOTAL = Decimal("1000000000")


class StrictSchema(Schema):
    """Unknown fields are errors that name them."""

    class Meta:
        unknown = RAISE


class LiveSchema(StrictSchema):
    """A write the service will record: with `live`, its times are checked against the
    service's clock (and a purchase against the programme) while it is parsed."""

    def __init__(self, *args: Any, live: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.live = live

    def future_problem(self, at: Any, *, tolerance: bool = True,
                       previewable: bool = False) -> str | None:
        """Why the instant `at` is too far in the future, if it is (live schemas only).

        With `previewable`, a dry run may look ahead as far as the dry-run horizon."""
        ctx = current_service() if self.live else None
        if ctx is None or not isinstance(at, datetime):
            return None
        settings = ctx.settings
        slack = timedelta(hours=settings.future_tolerance_hours if tolerance else 0)
        horizon = timedelta(days=settings.dry_run_horizon_days)
        if previewable and horizon > slack and dry_run_requested():
            if at <= ctx.clock() + horizon:
                return None
            return (f"A dry run must not be more than {settings.dry_run_horizon_days:g} days "
                    "ahead (the dry-run horizon).")
        if at <= ctx.clock() + slack:
            return None
        if not tolerance:
            return "Must not be in the future."
        problem = f"Must not be more than {settings.future_tolerance_hours:g} hours ahead."
        if previewable and horizon > slack:
            problem += (f" A dry run (?dry_run=true) may be up to "
                        f"{settings.dry_run_horizon_days:g} days ahead.")
        return problem

    def check_future(self, data: dict[str, Any], name: str, *, tolerance: bool = True,
                     previewable: bool = False) -> None:
        problem = self.future_problem(data.get(name), tolerance=tolerance,
                                      previewable=previewable)
        if problem:
            raise ValidationError({name: [problem]})


def dry_run_requested() -> bool:
    """Whether the request being parsed asks for a dry run (`?dry_run=true`)."""
    if not has_request_context():
        return False
    try:
        return bool(DryRunQuerySchema().load(request.args)["dry_run"])
    except ValidationError:
        return False  # the view refuses the query when it parses it


def MemberId(**kwargs: Any) -> fields.String:
    """A member id as the service stores it."""
    return Id(max_length=MEMBER_ID_LENGTH, metadata={"example": "M-1001"}, **kwargs)


class EnrolMemberSchema(LiveSchema):
    member_id = MemberId(load_default=None)
    name = Text(max_length=200, allow_none=True, load_default=None)
    email = fields.Email(
        validate=validate.Length(max=320), allow_none=True, load_default=None,
        metadata={"description": "Compared without case or surrounding spaces."},
    )
    phone = fields.String(
        validate=validate.Regexp(r"^[0-9+() .-]{3,40}$", error="Not a valid phone number."),
        allow_none=True,
        load_default=None,
        metadata={"example": "+86 138 0000 0001", "description": (
            "Stored in E.164 form; a number without its country code is read in the "
            "service's default region."
        )},
    )
    birth_date = fields.Date(allow_none=True, load_default=None)
    gender = Text(max_length=20, allow_none=True, load_default=None)
    region = Text(max_length=100, allow_none=True, load_default=None)
    enrolled_at = Instant(allow_none=True, load_default=None)
    channel = Text(max_length=40, allow_none=True, load_default=None)
    attributes = FreeForm(load_default=dict)
    tags = fields.List(Text(max_length=64), load_default=list)

    @pre_load
    def trim_email(self, data: Any, **_: Any) -> Any:
        """An e-mail address is compared without surrounding spaces or case."""
        email = data.get("email") if isinstance(data, dict) else None
        if isinstance(email, str):
            return {**data, "email": email.strip().lower()}
        return data

    @validates_schema
    def check_enrolled_at(self, data: dict[str, Any], **_: Any) -> None:
        self.check_future(data, "enrolled_at", tolerance=False)

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> EnrolMember:
        return EnrolMember(**{**data, "tags": tuple(data["tags"])})


class LineSchema(StrictSchema):
    sku = Id(max_length=64, required=True, metadata={"example": "FRIDGE-300"})
    category = Text(max_length=64, metadata={"example": "appliances"})
    quantity = positive_int(required=True)
    unit_price = Money(maximum=MAX_UNIT_PRICE)

    @post_load
    def make_line(self, data: dict[str, Any], **_: Any) -> LineIn:
        return LineIn(**data)


class PaymentSchema(StrictSchema):
    method = Text(max_length=40, required=True, metadata={"example": "card"})
    amount = Money(required=True, positive=True, maximum=MAX_TOTAL)

    @post_load
    def make_payment(self, data: dict[str, Any], **_: Any) -> PaymentIn:
        return PaymentIn(**data)


class TransactionSchema(LiveSchema):
    """A purchase (lines with sku, category, quantity, unit_price) or a return."""

    transaction_id = Id(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["purchase", "return"]))
    member_id = MemberId(required=True)
    occurred_at = Instant(required=True)
    store_id = Text(max_length=64, allow_none=True)
    channel = Text(max_length=40, allow_none=True)
    currency = fields.String(
        validate=validate.Regexp(r"^[A-Z]{3}$", error="An ISO 4217 code such as CNY."),
        allow_none=True,
    )
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(min=1))
    payments = fields.List(fields.Nested(PaymentSchema), load_default=list)
    offer_codes = fields.List(Text(max_length=64), load_default=list)
    original_transaction_id = Id(
        allow_none=True,
        metadata={"description": "The purchase a return refers to; required for a return."},
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_kind(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        """A purchase prices every line; a return names the purchase it undoes."""
        kind = data.get("type")
        raw = original if isinstance(original, dict) else {}
        errors: dict[str, Any] = {}
        if kind == "purchase":
            if raw.get("original_transaction_id") is not None:
                errors["original_transaction_id"] = ["Only a return refers to a purchase."]
            raw_lines = raw.get("lines")
            for index, line in enumerate(raw_lines if isinstance(raw_lines, list) else []):
                if not isinstance(line, dict):
                    continue
                missing = {
                    name: [MISSING] for name in ("category", "unit_price")
                    if line.get(name) is None
                }
                if missing:
                    errors.setdefault("lines", {})[index] = missing
        elif kind == "return" and raw.get("original_transaction_id") is None:
            errors["original_transaction_id"] = ["A return must name the original transaction."]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def check_amounts(self, data: dict[str, Any], **_: Any) -> None:
        """Every line and the whole purchase stay within bounds; payments cover the lines."""
        lines = data.get("lines") or []
        errors: dict[str, Any] = {}
        total = Decimal("0")
        for index, line in enumerate(lines):
            amount = (line.unit_price or Decimal("0")) * line.quantity
            total += amount
            if amount > MAX_TOTAL:
                errors.setdefault("lines", {})[index] = {
                    "unit_price": [f"The line total (quantity x unit_price) is {amount}, "
                                   f"more than {MAX_TOTAL:,}."]}
        if not errors and total > MAX_TOTAL:
            errors["lines"] = [f"The total of the lines is {total}, more than {MAX_TOTAL:,}."]
        payments = data.get("payments") or []
        priced = all(line.unit_price is not None for line in lines)
        if data.get("type") == "purchase" and payments and priced and not errors:
            paid = sum((payment.amount for payment in payments), start=Decimal("0"))
            if paid != total:
                errors["payments"] = [f"The payments add up to {paid}, the lines to {total}."]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        """Not from too far in the future; in the programme's currency."""
        self.check_future(data, "occurred_at", previewable=True)
        ctx = current_service() if self.live else None
        currency = data.get("currency")
        if ctx is not None and currency is not None:
            expected = ctx.book().policy.currency
            if currency != expected:
                raise ValidationError({"currency": [f"The programme's currency is {expected}."]})

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> RecordTransaction:
        ctx = current_service() if self.live else None
        if ctx is not None and data.get("currency") is None and data.get("type") == "purchase":
            data["currency"] = ctx.book().policy.currency
        return RecordTransaction(
            **{
                **data,
                "lines": tuple(data["lines"]),
                "payments": tuple(data["payments"]),
                "offer_codes": tuple(data["offer_codes"]),
                "fingerprint": "",
            }
        )


class EventSchema(LiveSchema):
    """A non-purchase fact: service, complaint, referral, survey, visit or a custom type."""

    event_id = Id(required=True)
    type = fields.String(
        required=True,
        validate=validate.Regexp(
            EVENT_TYPE, error="A lowercase name such as 'complaint' (a-z, 0-9, '_', '.', '-')."
        ),
        metadata={"example": "complaint"},
    )
    member_id = MemberId(required=True)
    occurred_at = Instant(required=True)
    attributes = FreeForm(load_default=dict, metadata={"description": (
        "Details of the event. Those the programme declares for its type (program.yaml "
        "`events:`) must be of the declared type: money and numbers as decimal strings or "
        "JSON numbers, words as text (any case), yes/no as true or false, dates as "
        "2026-11-20, lists as arrays of words. Others are kept as sent."
    )})

    @validates_schema
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        self.check_future(data, "occurred_at", previewable=True)

    @validates_schema
    def check_attributes(self, data: dict[str, Any], **_: Any) -> None:
        """The attributes the programme declares for this type of event are of their type."""
        ctx = current_service() if self.live else None
        if ctx is not None and data.get("attributes"):
            policy = ctx.book().policy
            problems = attribute_problems(policy, data["type"], data["attributes"])
            if problems:
                raise ValidationError({"attributes": problems})

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> RecordEvent:
        return RecordEvent(**data, fingerprint="")


class RedeemSchema(LiveSchema):
    """What to redeem; the member is the one in the path."""

    redemption_id = Id(required=True)
    reward_id = Id(max_length=REWARD_ID_LENGTH, required=True, metadata={"example": "ICE-MAKER"})
    quantity = positive_int(load_default=1)
    occurred_at = Instant(allow_none=True, load_default=None)

    @validates_schema
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        self.check_future(data, "occurred_at")

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> Redeem:
        return Redeem(**data, member_id="", fingerprint="")


#: The most points one adjustment may add or remove (a rule file's largest fixed award).
MAX_ADJUSTMENT = 10_000_000
REASON_LENGTH = 1000


class AdjustSchema(LiveSchema):
    """Points a service desk adds or removes, and why; the member is the one in the path."""

    adjustment_id = Id(required=True, metadata={"example": "ADJ-20261121-0001"})
    points = fields.Integer(
        strict=True, required=True,
        validate=[validate.Range(min=-MAX_ADJUSTMENT, max=MAX_ADJUSTMENT),
                  validate.NoneOf([0], error="Must not be zero.")],
        metadata={"example": 500, "description": "Points to add; negative removes them."})
    reason = fields.String(required=True, validate=validate.Length(max=REASON_LENGTH),
                           metadata={"example": "delivery of order 88123 was three days late",
                                     "description": "Why; shown in the ledger and audit log."})
    occurred_at = Instant(allow_none=True, load_default=None)

    @validates_schema
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        self.check_future(data, "occurred_at")

    @post_load
    def make_command(self, data: dict[str, Any], **_: Any) -> Adjust:
        return Adjust(**data, member_id="", fingerprint="")


class AsOfQuerySchema(StrictSchema):
    as_of = Instant(
        metadata={"description": "Evaluate as of this instant instead of now."}
    )

    @pre_load
    def restore_plus(self, data: Any, **_: Any) -> Any:
        """An unencoded `+08:00` in a query string arrives as ` 08:00`; read it as meant."""
        value = data.get("as_of") if hasattr(data, "get") else None
        if isinstance(value, str) and " " in value.strip():
            return {**data, "as_of": value.strip().replace(" ", "+")}
        return data


class LedgerQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "The `next_cursor` of the previous page."},
    )


class DryRunQuerySchema(StrictSchema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Evaluate and answer without recording anything."},
    )


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


class RuleFilesSchema(StrictSchema):
    files = RuleFiles(required=True)


def Reason(**kwargs: Any) -> fields.String:
    """Why: a person's words, kept in the audit log."""
    return fields.String(validate=validate.Length(max=2000), metadata={
        "example": "Weekend campaign approved by the store managers"} | kwargs.pop("metadata", {}),
        **kwargs)


class ActivateRulesSchema(StrictSchema):
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

    files = RuleFiles(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000), metadata={
        "description": "What the change is for, for whoever reviews it."})


class DraftReplaceSchema(StrictSchema):
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
    version = fields.Integer(required=True, validate=validate.Range(min=1), metadata={
        "description": "The version whose exact content becomes the rules in force again."})
    reason = Reason(required=True)


class DiffQuerySchema(StrictSchema):
    from_ = fields.String(required=True, data_key="from", validate=validate.Regexp(
        r"^(\d+|d-[0-9a-f]+)$", error="A version number or a draft id (d-...)."))
    to = fields.String(required=True, validate=validate.Regexp(
        r"^(\d+|d-[0-9a-f]+)$", error="A version number or a draft id (d-...)."))


class AuditQuerySchema(StrictSchema):
    action = fields.List(fields.String(), load_default=None, metadata={
        "description": "Only these actions (repeat the parameter for several)."})
    actor = fields.String(load_default=None)
    subject = fields.String(load_default=None, metadata={"example": "version 3"})
    from_ = Instant(load_default=None, data_key="from")
    to = Instant(load_default=None)
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "The `next_cursor` of the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ExplainSchema(StrictSchema):
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
    against = fields.Integer(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "A stored version to compare with; absent: the versions in force."})
    ignore_windows = fields.Boolean(load_default=False, metadata={"description": (
        "Evaluate the draft's rules as if their from/until dates covered the period.")})
    shard = ShardField(load_default=None, metadata={"type": "string", "example": "2/4",
                                                    "description": "K/N; absent: all members"})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "html"]),
                           metadata={"description": "json (default) or html (a page with "
                                                    "charts, as text/html)"})


class BacktestSchema(DraftBacktestSchema):
    files = RuleFiles(required=True, metadata={"description": "The draft rule files."})

