"""Request schemas: strict, and each loads straight into the command the service takes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

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
from loyalty.api.schemas.fields import (
    MAX_INT64,
    FreeForm,
    Id,
    Instant,
    Money,
    Text,
    positive_int,
    unstorable_text,
)
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
from loyalty.domain.contact import CHANNELS, normalise_phone
from loyalty.domain.referrals import REFERRAL_EVENT

T = TypeVar("T")

MEMBER_ID_LENGTH = 64
REWARD_ID_LENGTH = 64
MISSING = "Missing data for required field."
EVENT_TYPE = r"^[a-z][a-z0-9_.-]{0,39}$"
MAX_UNIT_PRICE = Decimal("10000000")
MAX_TOTAL = Decimal("1000000000")
#: How many items one request may carry (the README's table of caps).
MAX_LINES = 500
MAX_PAYMENTS = 20
MAX_OFFER_CODES = 20
MAX_VOUCHERS = 20
MAX_TAGS = 50
TAG_LENGTH = 64
CODE_LENGTH = 64
VOUCHER_LENGTH = 40


def _checked_by_nested(field: fields.Field) -> bool:
    """Whether the field's values are loaded by a nested schema, which checks its own text."""
    inner = field.inner if isinstance(field, fields.List) else field
    return isinstance(inner, fields.Nested)


class StrictSchema(Schema):
    """Unknown fields are errors that name them; text no database can store is refused."""

    class Meta:
        unknown = RAISE

    #: Fields whose text another check screens with its own words (rule files: file and line).
    screened_elsewhere: tuple[str, ...] = ()

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def refuse_unstorable_text(self, data: Any, original: Any, **_: Any) -> None:
        """A NUL character or half a surrogate pair anywhere in a field is named by its path,
        with whatever else is wrong with the request."""
        if not isinstance(original, Mapping):
            return
        problems: dict[str, Any] = {}
        for name, field in self.load_fields.items():
            key = field.data_key or name
            if key in original and name not in self.screened_elsewhere \
                    and not _checked_by_nested(field):
                found = unstorable_text(original[key])
                if found:
                    problems[key] = found
        if problems:
            raise ValidationError(problems)


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


class StrictBoolean(fields.Boolean):
    """JSON true or false, nothing else (no 1, "yes" or "true")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


#: Consent per channel: true given, false withdrawn; a channel left out is unchanged (at
#: enrolment: not given).
ConsentsSchema = StrictSchema.from_dict(
    {channel: StrictBoolean() for channel in CHANNELS}, name="Consents")


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
    tags = fields.List(Text(max_length=TAG_LENGTH), load_default=list,
                       validate=validate.Length(max=MAX_TAGS))
    consents = fields.Nested(ConsentsSchema, allow_none=True, load_default=None, metadata={
        "description": "Consent per channel to be contacted; a channel left out: none."})
    referred_by = Id(
        max_length=MEMBER_ID_LENGTH, allow_none=True, load_default=None,
        metadata={"example": "M-1001", "description": (
            "The member who brought them: rewarded (once) on their first qualifying purchase "
            "(program.yaml `referrals:`). Must be a known member who is not this person.")})

    @pre_load
    def trim_email(self, data: Any, **_: Any) -> Any:
        """An e-mail address is compared without surrounding spaces or case."""
        email = data.get("email") if isinstance(data, dict) else None
        if isinstance(email, str):
            return {**data, "email": email.strip().lower()}
        return data

    @validates_schema(skip_on_field_errors=False)
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        """Not enrolled in the future; a phone number the service's region can read."""
        errors: dict[str, list[str]] = {}
        problem = self.future_problem(data.get("enrolled_at"), tolerance=False)
        if problem:
            errors["enrolled_at"] = [problem]
        ctx = current_service() if self.live else None
        if ctx is not None and data.get("phone"):
            try:
                normalise_phone(data["phone"], ctx.settings.default_region)
            except ValueError as error:
                errors["phone"] = [str(error)]
        if errors:
            raise ValidationError(errors)

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


def _all_loaded(data: dict[str, Any], original: Any, name: str,
                kind: type[T]) -> list[T] | None:
    """The items of the list `name` when every item sent loaded into a `kind`; else None."""
    loaded = data.get(name)
    sent = original.get(name) if isinstance(original, Mapping) else None
    if not isinstance(loaded, list) or not isinstance(sent, list) or len(loaded) != len(sent):
        return None
    return loaded if all(isinstance(item, kind) for item in loaded) else None


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
    lines = fields.List(fields.Nested(LineSchema), required=True,
                        validate=validate.Length(min=1, max=MAX_LINES))
    payments = fields.List(fields.Nested(PaymentSchema), load_default=list,
                           validate=validate.Length(max=MAX_PAYMENTS))
    offer_codes = fields.List(Text(max_length=CODE_LENGTH), load_default=list,
                              validate=validate.Length(max=MAX_OFFER_CODES))
    vouchers = fields.List(
        Text(max_length=VOUCHER_LENGTH), load_default=list,
        validate=validate.Length(max=MAX_VOUCHERS),
        metadata={"description": (
            "A purchase: the voucher codes of rewards the member holds, presented at the till. "
            "Each must be the member's, unused, not taken back and valid at `occurred_at`, "
            "and listed once; otherwise the purchase is refused (`voucher_refused`) and "
            "nothing is recorded. The purchase marks them used."),
            "example": []},
    )
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
        elif kind == "return":
            if raw.get("original_transaction_id") is None:
                errors["original_transaction_id"] = [
                    "A return must name the original transaction."]
            if raw.get("vouchers"):
                errors["vouchers"] = ["Only a purchase presents vouchers."]
        if errors:
            raise ValidationError(errors)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_amounts(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        """Every line and the whole purchase stay within bounds; payments cover the lines.
        Only lines and payments that all loaded can be added up."""
        lines = _all_loaded(data, original, "lines", LineIn)
        if lines is None:
            return
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
        payments = _all_loaded(data, original, "payments", PaymentIn) or []
        priced = all(line.unit_price is not None for line in lines)
        if data.get("type") == "purchase" and payments and priced and not errors:
            paid = sum((payment.amount for payment in payments), start=Decimal("0"))
            if paid != total:
                errors["payments"] = [f"The payments add up to {paid}, the lines to {total}."]
        if errors:
            raise ValidationError(errors)

    @validates_schema(skip_on_field_errors=False)
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        """Not from too far in the future; in the programme's currency."""
        errors: dict[str, list[str]] = {}
        problem = self.future_problem(data.get("occurred_at"), previewable=True)
        if problem:
            errors["occurred_at"] = [problem]
        ctx = current_service() if self.live else None
        currency = data.get("currency")
        if ctx is not None and currency is not None:
            expected = ctx.book().policy.currency
            if currency != expected:
                errors["currency"] = [f"The programme's currency is {expected}."]
        if errors:
            raise ValidationError(errors)

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
                "vouchers": tuple(data["vouchers"]),
                "fingerprint": "",
            }
        )


class EventSchema(LiveSchema):
    """A non-purchase fact: service, complaint, referral, survey, visit or a custom type."""

    event_id = Id(required=True)
    type = fields.String(
        required=True,
        validate=[
            validate.Regexp(
                EVENT_TYPE,
                error="A lowercase name such as 'complaint' (a-z, 0-9, '_', '.', '-').",
            ),
            validate.NoneOf(
                [REFERRAL_EVENT],
                error="Raised by the service when a referred friend first buys enough; a "
                      "till cannot send it.",
            ),
        ],
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

    @validates_schema(skip_on_field_errors=False)
    def check_live(self, data: dict[str, Any], **_: Any) -> None:
        self.check_future(data, "occurred_at", previewable=True)

    @validates_schema(skip_on_field_errors=False)
    def check_attributes(self, data: dict[str, Any], **_: Any) -> None:
        """The attributes the programme declares for this type of event are of their type."""
        ctx = current_service() if self.live else None
        if ctx is not None and data.get("attributes") and data.get("type"):
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

    @validates_schema(skip_on_field_errors=False)
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

    @validates_schema(skip_on_field_errors=False)
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


def Cursor(**kwargs: Any) -> fields.Integer:
    """Where the next page starts: the `next_cursor` of the previous page."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_INT64), metadata={
        "description": "The `next_cursor` of the previous page."}, **kwargs)


class LedgerQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor()


class NoQuerySchema(StrictSchema):
    """An operation that takes no query parameters: any one sent is refused by name, so a
    misspelt option is never silently ignored."""


class DryRunQuerySchema(StrictSchema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Evaluate and answer without recording anything."},
    )
