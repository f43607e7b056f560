"""The HTTP API: flask-smorest blueprints under /api/v1, one error shape, an OpenAPI document."""

from __future__ import annotations

from typing import Any

import flask_smorest
import swagger_ui_bundle
from flask import Blueprint, Flask

from loyalty.api import (
    audit,
    events,
    health,
    member_app,
    members,
    merge,
    notifications,
    operations,
    profile,
    relations,
    report_pages,
    rewards,
    rules,
    transactions,
    transfers,
)
from loyalty.api.auth import SECURITY_SCHEME
from loyalty.api.context import EXTENSION
from loyalty.api.errors import handle_http_exception, register_error_handlers
from loyalty.api.parsing import limits_text
from loyalty.api.schemas.responses import Error
from loyalty.services.context import ServiceContext

PREFIX = "/api/v1"
DOCS_ASSETS = f"{PREFIX}/docs/assets"
MAX_BODY_BYTES = 8 * 1024 * 1024
BLUEPRINTS = (members.blp, transactions.blp, events.blp, rewards.blp, rules.blp, operations.blp,
              audit.blp, relations.blp, profile.blp, transfers.blp, merge.blp, member_app.blp,
              notifications.blp, report_pages.blp)


class Api(flask_smorest.Api):
    """flask-smorest's Api, documenting and answering errors in the service's one shape."""

    ERROR_SCHEMA = Error

    def _register_error_handlers(self) -> None:
        register_error_handlers(self._app)

    def handle_http_exception(self, error: Any) -> Any:
        return handle_http_exception(error)


def _docs_assets() -> Blueprint:
    """Swagger UI's files, served from the installed package so the docs work offline."""
    return Blueprint(
        "docs_assets",
        __name__,
        static_folder=str(swagger_ui_bundle.swagger_ui_path),
        static_url_path=DOCS_ASSETS,
    )


def init_api(app: Flask, context: ServiceContext) -> None:
    """Attach the API to `app`: configuration, error handlers, blueprints, documentation."""
    app.extensions[EXTENSION] = context
    app.config.update(
        API_TITLE="loyalty",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{DOCS_ASSETS}/",
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None, "deepLinking": True},
    )
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    api = Api(
        app,
        spec_kwargs={
            "info": {"description": "Loyalty service: the point-of-sale contract (v1). "
                                    + limits_text(MAX_BODY_BYTES)},
        },
    )
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer",
                           "description": "An API key; on the member app's endpoints (/me), "
                                          "a member token."}
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=PREFIX)
    app.register_blueprint(_docs_assets())
    app.register_blueprint(health.blp)
