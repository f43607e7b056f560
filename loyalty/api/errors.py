"""One JSON error shape for every error: `{"code", "message", "details"}`, defined once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from loyalty.domain.errors import LoyaltyError, fields_message
from loyalty.store.outage import DatabaseUnavailable, describe, is_unavailable

log = logging.getLogger(__name__)

#: The HTTP status of every error code the service reports.
STATUS_BY_CODE: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "validation_error": 422,
    "unknown_member": 404,
    "member_exists": 409,
    "member_merged": 409,
    "member_erased": 409,
    "unknown_token": 404,
    "unknown_transaction": 422,
    "return_exceeds_purchase": 422,
    "idempotency_conflict": 409,
    "write_conflict": 409,
    "insufficient_points": 422,
    "transfer_refused": 422,
    "unknown_relative": 404,
    "unknown_date": 404,
    "too_many_entries": 422,
    "out_of_stock": 409,
    "unknown_reward": 404,
    "reward_unavailable": 422,
    "voucher_refused": 422,
    "rules_invalid": 422,
    "unknown_notification": 404,
    "unknown_webhook": 404,
    "not_replayable": 409,
    "no_active_rules": 503,
    "unknown_rules_version": 404,
    "unknown_draft": 404,
    "change_refused": 409,
    "approval_required": 409,
    "own_change": 403,
    "internal_error": 500,
    "database_unavailable": 503,
}

#: Seconds a till is asked to wait (`Retry-After`) before it tries again while the database
#: is away.
RETRY_AFTER_SECONDS = 5

#: Status used for a domain error whose code is missing from the table above.
DEFAULT_DOMAIN_STATUS = 422

#: Where errors that concern the body as a whole (not one field) are reported.
BODY_FIELD = "_body"
SCHEMA_KEY = "_schema"  # where marshmallow puts errors not tied to one field

_CODE_BY_STATUS: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "validation_error",
    500: "internal_error",
}


class ApiError(Exception):
    """An error raised by the HTTP layer itself (authentication, roles, malformed requests)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 400)


def error_response(
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one error body, with its status taken from `STATUS_BY_CODE` unless given."""
    response = jsonify({"code": code, "message": message, "details": dict(details or {})})
    response.status_code = status or STATUS_BY_CODE.get(code, 400)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages into dotted paths, e.g. `lines.0.unit_price`."""
    found: dict[str, list[str]] = {}

    def add(path: str, values: list[str]) -> None:
        found.setdefault(path or BODY_FIELD, []).extend(values)

    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key in (SCHEMA_KEY, BODY_FIELD):
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub_path, values in field_errors(value, path).items():
                add(sub_path, values)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, Mapping | list | tuple):
                for sub_path, values in field_errors(item, prefix).items():
                    add(sub_path, values)
            else:
                add(prefix, [str(item)])
    else:
        add(prefix, [str(messages)])
    return found


def validation_response(messages: Any, *, by_location: bool = False) -> Response:
    """422 `validation_error` naming every offending field; webargs nests them by location."""
    fields: dict[str, list[str]] = {}
    groups = messages.values() if by_location and isinstance(messages, Mapping) else [messages]
    for group in groups:
        for path, values in field_errors(group).items():
            fields.setdefault(path, []).extend(values)
    named = sorted(name for name in fields if name != BODY_FIELD)
    if named:
        message = fields_message(named)
    elif fields:
        message = f"The request body is not valid: {fields[BODY_FIELD][0]}"
    else:
        message = "The request is not valid."
    return error_response("validation_error", message, {"fields": fields})


def handle_api_error(error: ApiError) -> Response:
    """Errors raised by the HTTP layer."""
    return error_response(error.code, error.message, error.details, headers=error.headers)


def handle_loyalty_error(error: LoyaltyError) -> Response:
    """Domain errors from the services, translated with the one status table."""
    if error.code == "validation_error":
        details = error.details if "fields" in error.details else {"fields": error.details}
        return error_response(error.code, error.message, details)
    status = STATUS_BY_CODE.get(error.code)
    if status is None:
        log.warning("no HTTP status mapped for domain error code %r", error.code)
        status = DEFAULT_DOMAIN_STATUS
    return error_response(error.code, error.message, error.details, status=status)


def handle_marshmallow_error(error: ma.ValidationError) -> Response:
    """A schema error raised outside argument parsing."""
    return validation_response(error.messages)


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug and webargs errors (404, 405, body parsing, ...) in the one shape."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    if "messages" in data and status in (400, 422):
        return validation_response(data["messages"], by_location=True)
    if status >= 500:
        return handle_unexpected(getattr(error, "original_exception", None) or error)
    headers = {
        name: value for name, value in error.get_headers() if name.lower() != "content-type"
    }
    headers.update(data.get("headers") or {})
    code = _CODE_BY_STATUS.get(status) or (error.name or "error").lower().replace(" ", "_")
    message = data.get("message") or error.description or error.name or "Error."
    return error_response(code, str(message), status=status, headers=headers)


def handle_database_unavailable(error: BaseException) -> Response:
    """The database is away, hung, full or read-only: 503 with `Retry-After`; the till may
    send the same request again (a repeated transaction id is answered, never recorded
    twice)."""
    log.warning("database unavailable: %s", describe(error))
    return error_response(
        "database_unavailable",
        "The service cannot reach its database just now; send the same request again in "
        "a few seconds.",
        {"retry_after_seconds": RETRY_AFTER_SECONDS},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def handle_unexpected(error: BaseException) -> Response:
    """Anything else: logged with its trace, answered without one (a database that is away
    is answered 503 instead)."""
    if is_unavailable(error):
        return handle_database_unavailable(error)
    log.error("unhandled error", exc_info=(type(error), error, error.__traceback__))
    return error_response("internal_error", "The service failed to handle the request.")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on the whole app so every error, API or not, answers in JSON."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(DatabaseUnavailable, handle_database_unavailable)
    app.register_error_handler(LoyaltyError, handle_loyalty_error)
    app.register_error_handler(ma.ValidationError, handle_marshmallow_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
