"""Fields shared by the request and response schemas: ids, money, instants, free-form data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import fields, validate

MONEY_PLACES = 4
MONEY_LIMIT = Decimal(10) ** 12
MAX_QUANTITY = 1_000_000
#: The largest whole number a request may give where the service stores a version number
#: (32-bit) or an entry id (64-bit).
MAX_INT32 = 2**31 - 1
MAX_INT64 = 2**63 - 1
#: Instants the service accepts: wide enough for any business date, narrow enough that the
#: longest window a rule may name (100 years) stays inside the calendar.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
#: Free-form objects (a member's or an event's attributes).
MAX_ENTRIES = 50
MAX_ENTRY_NAME = 64
MAX_FREE_FORM_BYTES = 16 * 1024
_DECIMAL_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?$")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NUL_MESSAGE = "Must not contain the NUL character (\\u0000)."
SURROGATE_MESSAGE = "Must be Unicode text: a lone surrogate (\\ud800-\\udfff) is not a character."


def Id(*, max_length: int = 128, **kwargs: Any) -> fields.String:
    """A caller-chosen identifier: non-blank text of at most `max_length` characters."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(r"\S", error="Must not be blank."),
        ],
        metadata={"example": "S12-20261120-000123"} | kwargs.pop("metadata", {}),
        **kwargs,
    )


def Text(*, max_length: int, **kwargs: Any) -> fields.String:
    """Plain text of 1..`max_length` characters."""
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class Money(fields.Field):
    """An exact amount: a decimal string ("49.50") or a JSON number; at most 4 decimal places.

    On output it is always a decimal string; `maximum` bounds what is accepted on input.
    """

    default_error_messages = {
        "invalid": "Not a valid amount: give a decimal string such as \"49.50\" or a number.",
        "places": f"At most {MONEY_PLACES} decimal places.",
        "too_large": "Amount too large: at most {maximum}.",
        "negative": "Must not be negative.",
        "not_positive": "Must be greater than zero.",
    }

    def __init__(self, *, positive: bool = False, maximum: Decimal | None = None,
                 **kwargs: Any) -> None:
        self.maximum = maximum
        metadata: dict[str, Any] = {
            "type": "string",
            "format": "decimal",
            "example": "49.50",
            "description": "Decimal string.",
        }
        if maximum is not None:
            text = {"type": "string", "format": "decimal", "pattern": _DECIMAL_TEXT.pattern}
            number = {"type": "number", "maximum": float(maximum)}
            metadata = {
                "oneOf": [text, number],
                "example": "49.50",
                "description": (f"Decimal string or JSON number, at most {maximum:,} with "
                                f"at most {MONEY_PLACES} decimal places."),
            }
        metadata |= kwargs.pop("metadata", {})
        super().__init__(metadata=metadata, **kwargs)
        self.positive = positive

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise self.make_error("invalid")
        if isinstance(value, str) and not _DECIMAL_TEXT.match(value.strip()):
            raise self.make_error("invalid")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation as error:
            raise self.make_error("invalid") from error
        if not amount.is_finite():
            raise self.make_error("invalid")
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -MONEY_PLACES:
            raise self.make_error("places")
        limit = self.maximum if self.maximum is not None else MONEY_LIMIT
        if abs(amount) > limit or abs(amount) >= MONEY_LIMIT:
            raise self.make_error("too_large", maximum=f"{limit:,}")
        if self.positive and amount <= 0:
            raise self.make_error("not_positive")
        if amount < 0:
            raise self.make_error("negative")
        return amount

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class Instant(fields.AwareDateTime):
    """An ISO 8601 instant that must carry its UTC offset, from 1900 to 2999 (UTC)."""

    default_error_messages = {
        "invalid": "Not a valid ISO 8601 date-time.",
        "invalid_awareness": "Must include a UTC offset, e.g. 2026-11-20T14:03:00+08:00.",
        "out_of_range": (f"Must be from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} "
                         "(in UTC)."),
    }

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "2026-11-20T14:03:00+08:00"} | kwargs.pop("metadata", {})
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        instant: datetime = super()._deserialize(value, attr, data, **kwargs)
        # Aware datetimes compare without converting, so an offset at the calendar's edge
        # cannot overflow here.
        if not EARLIEST <= instant <= LATEST:
            raise self.make_error("out_of_range")
        return instant

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return str(super()._serialize(value, attr, obj, **kwargs))


class Day(fields.Date):
    """An ISO 8601 calendar date; already-formatted strings pass through on output."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, datetime):
            value = value.date()
        return value.isoformat() if isinstance(value, date) else str(value)


def unstorable_text(value: Any) -> Any:
    """marshmallow-style messages for every string inside `value` (keys too) that no database
    can store: a NUL character or half of a UTF-16 surrogate pair; None when there is none."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return None
        return [NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE]
    items: Iterator[tuple[Any, Any]]
    if isinstance(value, Mapping):
        items = iter(value.items())
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    problems: dict[Any, Any] = {}
    for key, item in items:
        found = unstorable_text(key) or unstorable_text(item)
        if found:
            problems[key] = found
    return problems or None


def json_native(value: Any) -> Any:
    """Free-form data as plain JSON types: exact decimals become int or float again."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: json_native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_native(item) for item in value]
    return value


def _numbers(value: Any) -> Iterator[Decimal]:
    """Every number inside `value`, as a Decimal."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        yield Decimal(value)


class FreeForm(fields.Dict):
    """A free-form JSON object (string keys), stored as given: at most `MAX_ENTRIES` entries
    named in at most `MAX_ENTRY_NAME` characters, `MAX_FREE_FORM_BYTES` as JSON, numbers within
    the range of a 64-bit integer."""

    default_error_messages = {
        "entries": f"At most {MAX_ENTRIES} entries.",
        "too_large": f"At most {MAX_FREE_FORM_BYTES // 1024} KiB as JSON.",
        "number": f"Numbers must lie between -{MAX_INT64:,} and {MAX_INT64:,}.",
    }

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"maxProperties": MAX_ENTRIES} | kwargs.pop("metadata", {})
        super().__init__(keys=fields.String(validate=validate.Length(max=MAX_ENTRY_NAME)),
                         metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        loaded = super()._deserialize(value, attr, data, **kwargs)
        if len(loaded) > MAX_ENTRIES:
            raise self.make_error("entries")
        if any(abs(number) > MAX_INT64 for number in _numbers(loaded)):
            raise self.make_error("number")
        native = json_native(loaded)
        if len(json.dumps(native, ensure_ascii=False).encode("utf-8", "surrogatepass")) \
                > MAX_FREE_FORM_BYTES:
            raise self.make_error("too_large")
        return native


def positive_int(**kwargs: Any) -> fields.Integer:
    """A whole number of at least 1 (booleans and fractions refused)."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY), **kwargs)
