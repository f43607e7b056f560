"""Requests at the edge: bodies read within the size limit and parsed as bounded JSON with
exact decimals, query parameters an operation does not take refused, paths naming what no
database can hold answered 404; and a Blueprint whose operations parse this way."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn

import flask
import flask_smorest
from flask.views import MethodView
from marshmallow import RAISE
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import BadRequest, LengthRequired, RequestEntityTooLarge

from loyalty.api.errors import BODY_FIELD, ApiError
from loyalty.api.schemas.requests import NoQuerySchema

#: How deeply objects and arrays may nest in a body (the service's own requests need four).
MAX_DEPTH = 32
#: The most characters one number may be written in.
MAX_NUMBER_TEXT = 40
#: Numbers are below 10**40 and have at most 40 decimal places.
MAX_EXPONENT = 40
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def limits_text(max_body_bytes: int) -> str:
    """What the document says about malformed requests, for its description."""
    return (
        f"Bodies are JSON of at most {max_body_bytes:,} bytes (larger: 413 "
        f"`payload_too_large`, however sent), nested at most {MAX_DEPTH} levels, numbers "
        f"written in at most {MAX_NUMBER_TEXT} characters, text without NUL characters or lone "
        "surrogates, instants from 1900 to 2999 (UTC). A query parameter an operation does "
        "not list is refused (422, naming it). Every problem of a request is reported at once "
        "in `details.fields`; a refused request records nothing."
    )


class BodyError(ValueError):
    """The body is not JSON the service reads: nested too deeply, or a number out of range."""


def _no_constants(name: str) -> NoReturn:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def _checked_text(text: str) -> str:
    if len(text) > MAX_NUMBER_TEXT:
        raise BodyError(f"A number is written with more than {MAX_NUMBER_TEXT} characters.")
    return text


def _integer(text: str) -> int:
    return int(_checked_text(text))


def _decimal(text: str) -> Decimal:
    number = Decimal(_checked_text(text))
    exponent = number.as_tuple().exponent
    if number.adjusted() >= MAX_EXPONENT or (isinstance(exponent, int)
                                             and exponent < -MAX_EXPONENT):
        raise BodyError(f"A number is out of range: below 10^{MAX_EXPONENT}, with at most "
                        f"{MAX_EXPONENT} decimal places.")
    return number


def depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        children = (item.values() if isinstance(item, dict)
                    else item if isinstance(item, list) else None)
        if children is None:
            continue
        deepest = max(deepest, level + 1)
        stack.extend((child, level + 1) for child in children)
    return deepest


def loads_json(raw: bytes | str) -> Any:
    """Parse JSON text; numbers with a fraction or exponent become Decimal, never float.

    `BodyError` for nesting deeper than `MAX_DEPTH` or a number out of range; the errors of
    `json.loads` (and of UTF-8 decoding) for text that is not JSON."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        data = json.loads(text, parse_float=_decimal, parse_int=_integer,
                          parse_constant=_no_constants)
    except RecursionError:
        data = None
        deep = True
    else:
        deep = depth(data) > MAX_DEPTH
    if deep:
        raise BodyError(f"Objects and arrays nest more than {MAX_DEPTH} levels deep.")
    return data


def _refuse_body(message: str, error: Exception | None = None) -> NoReturn:
    abort(422, exc=error, messages={"json": {BODY_FIELD: [message]}})


def too_large() -> RequestEntityTooLarge:
    """413 `payload_too_large`, saying how large a body may be."""
    limit = flask.current_app.config.get("MAX_CONTENT_LENGTH")
    return RequestEntityTooLarge(
        f"The request body is larger than the {limit:,} bytes the service accepts."
        if limit else None)


def refuse_unreadable_body() -> None:
    """A body announced larger than the limit is refused before any of it is read; one sent
    in chunks to a server that does not end the stream for the app cannot be read safely
    (it would be taken for no body at all), so it is refused with 411."""
    request = flask.request
    limit = flask.current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise too_large()
    if (length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
            and not request.environ.get("wsgi.input_terminated")):
        raise LengthRequired("A body sent in chunks cannot be read here: send its "
                             "Content-Length.")


def read_body(req: flask.Request) -> bytes:
    """The request's body; a body that turns out larger than the limit as it is read (one
    sent in chunks, without a length) is refused with 413 like one announced too large."""
    try:
        data = req.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large() from None
    limit = req.max_content_length
    # A streamed body is cut at the limit without a word: one more byte from the server's
    # own stream tells a body of exactly the limit from a longer one.
    if (req.content_length is None and limit is not None and len(data) >= limit
            and req.environ["wsgi.input"].read(1)):
        raise too_large()
    # A server may hand over what came before the till stopped sending: half a body.
    if req.content_length is not None and len(data) < req.content_length:
        raise BadRequest(f"The body ended after {len(data):,} of the {req.content_length:,} "
                         "bytes its Content-Length announced.")
    return data


def request_json() -> Any:
    """The current request's body, parsed as the argument parser parses it (None when empty);
    a body that is not JSON is refused with 422 `validation_error` on `_body`."""
    raw = read_body(flask.request)
    if not raw.strip():
        return None
    try:
        return loads_json(raw)
    except BodyError as error:
        _refuse_body(str(error), error)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        _refuse_body(f"Invalid JSON body: {error}.", error)


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, strict about the body (JSON or nothing, decimals kept exact,
    bounded) and about the query (a parameter the operation does not take is refused)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE, "querystring": RAISE}

    def _raw_load_json(self, req: flask.Request) -> Any:
        raw = read_body(req)
        if not raw.strip():
            return missing
        if not is_json_request(req):
            _refuse_body("The body must be JSON, sent with Content-Type: application/json.")
        try:
            return loads_json(raw)
        except BodyError as error:
            _refuse_body(str(error), error)

    def _handle_invalid_json_error(
        self, error: json.JSONDecodeError | UnicodeDecodeError, req: flask.Request,
        *args: Any, **kwargs: Any,
    ) -> NoReturn:
        _refuse_body(f"Invalid JSON body: {error}.", error)


def refuse_unstorable_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A path naming something with a NUL character or half a surrogate pair names nothing the
    service can hold: 404, before any database is asked."""
    for value in (values or {}).values():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            raise ApiError("not_found", "Nothing is known by that name.")


def _declares_query(function: Any) -> bool:
    parameters = getattr(function, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return any(parameter.get("in") == "query" for parameter in parameters)


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, parsing with `JsonBodyParser`. Every operation
    declares its query parameters (`no_query()` when it takes none), so that one it does not
    take is refused by name rather than ignored."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(refuse_unreadable_body)
        self.url_value_preprocessor(refuse_unstorable_path)

    def arguments(self, schema: Any, *, location: str = "json", required: bool = True,
                  **kwargs: Any) -> Callable[[Any], Any]:
        """flask-smorest's; a body the document marks required must be sent."""
        parse = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return parse

        def decorator(function: Any) -> Any:
            parsed = parse(function)

            @functools.wraps(parsed)
            def wrapper(*args: Any, **values: Any) -> Any:
                if not read_body(flask.request).strip():
                    _refuse_body("A JSON body is required.")
                return parsed(*args, **values)

            return wrapper

        return decorator

    def no_query(self) -> Callable[[Any], Any]:
        """The operation takes no query parameters: any one sent is refused by name."""
        return self.arguments(NoQuerySchema(), location="query", as_kwargs=True)

    def route(self, rule: str, **options: Any) -> Callable[[Any], Any]:
        register = super().route(rule, **options)

        def decorator(view: Any) -> Any:
            methods = ([getattr(view, name.lower()) for name in sorted(view.methods or ())]
                       if isinstance(view, type) and issubclass(view, MethodView) else [view])
            for function in methods:
                if not _declares_query(function):
                    raise TypeError(f"{rule} {function.__qualname__}: declare the query "
                                    "parameters it takes (blp.no_query() for none)")
            return register(view)

        return decorator
