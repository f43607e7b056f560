"""A log line is one JSON object with time, level, logger, message and request id, and personal
data never reaches it: not in the message, its arguments, a traceback or an extra field."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.glogging import SafeAtoms

from loyalty.observability.logs import (
    REQUEST_ID,
    AccessLogFields,
    json_handler,
    request_id_from,
)
from loyalty.observability.redaction import redact


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing through the service's handler into a buffer."""
    stream = io.StringIO()
    logger = logging.getLogger("loyalty.test.lines")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = json_handler(stream)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)


def written(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("text", [
    "call +86 138 0000 0001 now", "call 138 0000 0001 now", "call 13800000001 now",
    "call +8613800000001 now", "call (010) 6552-9988 now", "call 01.23.45.67.89 now",
    "write to ann.chen@example.com now", "write to Ann.Chen+loyalty@mail.example.cn now",
])
def test_phone_numbers_and_email_addresses_are_redacted(text: str) -> None:
    assert redact(text) in {"call [redacted] now", "write to [redacted] now"}


@pytest.mark.parametrize("text", [
    "{'member_id': 'M-1', 'name': [redacted], 'email': [redacted], 'phone': [redacted], "
    "'birth_date': [redacted]}",
])
def test_profile_fields_are_redacted_whatever_their_value(text: str) -> None:
    profile = ("{'member_id': 'M-1', 'name': 'Ann Chen', 'email': None, 'phone': 'unknown', "
               "'birth_date': datetime.date(1990, 5, 17)}")
    assert redact(profile) == text
    assert redact('{"Name": "Ann Chen", "first_name": "Ann"}') == (
        '{"Name": [redacted], "first_name": [redacted]}')


@pytest.mark.parametrize("text", [
    "sweep 2026-05-01T00:00:00+00:00 shard 1/2 phase points: {'members': 1234567}",
    "GET /api/v1/members/M-1001?as_of=2026-05-01 200", "total 3999.00, 1234567.89 CNY",
    "took 0.0001234567s at 2026-11-20 14:03:00.123456", "worker pid 123456 on 127.0.0.1:8000",
    "rules version 12 (a1b2c3d4e5f6) by ann.chen@host: summer campaign",
])
def test_figures_dates_and_ids_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_a_database_errors_parameters_are_hidden() -> None:
    text = ("(sqlite3.IntegrityError) UNIQUE constraint failed: members.phone\n"
            "[SQL: INSERT INTO members (member_id, name) VALUES (?, ?)]\n"
            "[parameters: ('M-1', 'Ann Chen')]\n(Background on this error at: https://x)")
    assert redact(text) == text.replace("[parameters: ('M-1', 'Ann Chen')]",
                                        "[parameters: hidden]")


def test_a_line_is_json_with_time_level_logger_message_and_request_id(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = lines
    token = REQUEST_ID.set("till-12-0001")
    try:
        logger.info("recorded %s for %s", "T-1", "M-1", extra={"points": 40})
    finally:
        REQUEST_ID.reset(token)
    logger.warning("outside a request")
    first, second = written(stream)
    assert list(first)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert (first["level"], first["logger"], first["message"], first["request_id"],
            first["points"]) == ("INFO", "loyalty.test.lines", "recorded T-1 for M-1",
                                 "till-12-0001", 40)
    assert (second["level"], second["request_id"]) == ("WARNING", None)


def test_personal_data_is_redacted_in_arguments_tracebacks_and_extra_fields(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = lines
    try:
        raise ValueError("no member with phone +86 138 0000 0001 or ann.chen@example.com")
    except ValueError:
        logger.exception("lookup failed for %r", {"name": "Ann Chen", "email": "a@b.cn"},
                         extra={"phone": "+8613800000001", "member": {"name": "Ann Chen"}})
    logger.info("stack", stack_info=True, extra={"note": "call 13800000001"})
    output = stream.getvalue()
    for personal in ("Ann Chen", "a@b.cn", "+86 138 0000 0001", "ann.chen@example.com",
                     "+8613800000001", "13800000001"):
        assert personal not in output
    failed, stack = written(stream)
    assert "ValueError: no member with phone [redacted]" in failed["exc_info"]
    assert (failed["phone"], failed["member"]) == ("[redacted]", {"name": "[redacted]"})
    assert stack["note"] == "call [redacted]" and "stack_info" in stack


def test_sql_parameters_echoed_by_the_database_layer_are_hidden(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = lines
    # The record as the database layer's logger makes it, handed to the service's handler
    # directly: whatever other tests did to the logging tree, this is what reaches a log.
    record = logging.LogRecord("sqlalchemy.engine.Engine", logging.WARNING, __file__, 1,
                               "[%s] %r", ("generated in 0.0001s",
                                           ("M-1", "Ann Chen", "+8613800000001")), None)
    logger.handlers[0].handle(record)
    (line,) = written(stream)
    assert line["message"] == "[generated in 0.0001s] '[hidden]'"


def test_a_sane_request_id_is_kept_and_any_other_replaced() -> None:
    assert request_id_from("till-12:0001.a_B") == "till-12:0001.a_B"
    for insane in (None, "", "a b", "<script>", "x" * 129, "id\u00e9", "-leading"):
        generated = request_id_from(insane)
        assert len(generated) == 32 and generated != insane


def test_an_access_line_keeps_the_request_and_drops_every_header() -> None:
    atoms = SafeAtoms({"m": "POST", "U": "/api/v1/transactions", "q": "", "s": "201",
                       "D": 12345, "B": 512, "h": "10.0.0.7",
                       "{authorization}i": "Bearer lk_secret", "{x-request-id}o": "req-7"})
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(h)s %(r)s", (atoms,),
                               None)
    AccessLogFields().filter(record)
    assert record.getMessage() == "POST /api/v1/transactions 201"
    assert (record.status, record.duration_ms, record.request_id, record.query) == (  # type: ignore[attr-defined]
        201, 12.345, "req-7", None)
    assert "lk_secret" not in json.dumps(vars(record), default=str)
