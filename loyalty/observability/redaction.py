"""Personal data kept out of log lines: e-mail addresses, phone numbers, and the values of
names, e-mail, phone and birth date fields, wherever they appear in a record."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

REDACTED = "[redacted]"

#: Fields of a member's profile whose values never reach a log line.
PERSONAL_FIELDS = ("name", "first_name", "last_name", "full_name", "email", "phone",
                   "birth_date", "date_of_birth")

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits that may be a phone number, not inside a word, a path or an instant; the
# digits it holds and its shape decide (`_phone`).
_DIGITS = re.compile(r"(?<![\w.:/+-])\+?\(?\d[\d ().-]{5,30}\d(?![\w:/]|[.-]\d)")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{4}")
_DECIMAL = re.compile(r"\d+\.\d+")
_KEYS = "|".join(PERSONAL_FIELDS)
_FIELD = re.compile(
    rf"""(?P<key>(?P<quote>['"]?)\b(?:{_KEYS})\b(?P=quote)\s*[:=]\s*)"""
    r"""(?P<value>'[^']*'|"[^"]*"|datetime\.date\([^)]*\)|[^\s,;)}\]]+)""",
    re.IGNORECASE,
)
# A database error's message quotes the statement's parameters: the row being written.
_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
_SQL_LOGGERS = "sqlalchemy.engine"

#: Attributes every LogRecord has; any other attribute came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "request_id"}


def redact(text: str) -> str:
    """`text` with personal data replaced by `[redacted]`."""
    text = _PARAMETERS.sub("[parameters: hidden]", text)
    text = _FIELD.sub(lambda match: match["key"] + REDACTED, text)
    text = _EMAIL.sub(REDACTED, text)
    return _DIGITS.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    """A phone number: seven digits or more after a +, or written with separators (and not a
    date or a decimal), or ten digits or more in a row; any other run of digits stays."""
    text = match[0]
    digits = sum(char.isdigit() for char in text)
    if text.startswith("+"):
        number = digits >= 7
    elif text.isdigit():
        number = digits >= 10
    else:
        number = digits >= 7 and not _DATE.search(text) and not _DECIMAL.fullmatch(text)
    return REDACTED if number else text


class PersonalDataFilter(logging.Filter):
    """Rewrites a record so that no personal data reaches its handler: the message, the
    traceback, the stack and any extra field. Attached to handlers, so it sees every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_SQL_LOGGERS) and isinstance(record.args, tuple):
            # SQL echo logs the statement's parameters as a separate argument
            record.args = tuple(arg if isinstance(arg, str | int | float) else "[hidden]"
                                for arg in record.args)
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info, record.exc_text = None, redact(text)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, _redact_value(key, value))
        return True


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in PERSONAL_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", item) for item in value]
    return value
