"""Request bodies: JSON parsed with exact decimals, and a Blueprint whose arguments use it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

import flask
import flask_smorest
from marshmallow.utils import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request

from loyalty.api.errors import BODY_FIELD


def _no_constants(name: str) -> NoReturn:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def loads_json(raw: bytes | str) -> Any:
    """Parse JSON text; numbers with a fraction or exponent become Decimal, never float."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constants)


def request_json() -> Any:
    """The current request's body, parsed as the argument parser parses it (None when empty)."""
    raw = flask.request.get_data(cache=True)
    return loads_json(raw) if raw.strip() else None


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, strict about the body: JSON or nothing, decimals kept exact."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        raw = req.get_data(cache=True)
        if not raw.strip():
            return missing
        if not is_json_request(req):
            abort(422, messages={"json": {BODY_FIELD: [
                "The body must be JSON, sent with Content-Type: application/json."
            ]}})
        return loads_json(raw)

    def _handle_invalid_json_error(
        self, error: json.JSONDecodeError | UnicodeDecodeError, req: flask.Request,
        *args: Any, **kwargs: Any,
    ) -> NoReturn:
        abort(422, exc=error, messages={"json": {BODY_FIELD: [f"Invalid JSON body: {error}."]}})


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, parsing bodies with `JsonBodyParser`."""

    ARGUMENTS_PARSER = JsonBodyParser()
