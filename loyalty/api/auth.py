"""API keys: `Authorization: Bearer <key>` checked by the keys service; roles per endpoint."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from loyalty.api.context import service_context
from loyalty.api.errors import ApiError
from loyalty.services import keys

F = TypeVar("F", bound=Callable[..., Any])

ROLES = ("pos", "marketing", "marketing_lead", "adjust", "admin")
ADMIN = "admin"
#: A role that may do everything another may: a marketing lead is also marketing.
IMPLIES = {"marketing_lead": ("marketing",)}
SECURITY_SCHEME = "bearerAuth"
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _unauthorized(message: str, error: str | None = None) -> ApiError:
    challenge = 'Bearer realm="loyalty"' + (f', error="{error}"' if error else "")
    return ApiError("unauthorized", message, headers={"WWW-Authenticate": challenge})


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None when there is none."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_key() -> keys.ApiKey:
    """The API key of the current request; 401 `unauthorized` when missing or unknown."""
    if "api_key" in g:
        known: keys.ApiKey = g.api_key
        return known
    token = bearer_token()
    if token is None:
        raise _unauthorized("An API key is required: send 'Authorization: Bearer <key>'.")
    key = keys.authenticate(service_context(), token)
    if key is None:
        raise _unauthorized("The API key is not valid.", "invalid_token")
    g.api_key = key
    return key


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF}}}


def require_roles(*roles: str) -> Callable[[F], F]:
    """Let the view run only for a key with one of `roles` (admin may do everything)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    allowed = frozenset(roles) | {ADMIN} | {
        role for role, implied in IMPLIES.items() if set(implied) & set(roles)}
    names = ", ".join(role for role in ROLES if role in allowed)

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = current_key()
            if key.role not in allowed:
                raise ApiError(
                    "forbidden",
                    f"This needs a key with one of the roles: {names}.",
                    details={"role": key.role, "allowed_roles": sorted(allowed)},
                )
            return func(*args, **kwargs)

        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = [{SECURITY_SCHEME: []}]
        manual.setdefault("responses", {}).update({
            "401": _error_response("Missing or unknown API key"),
            "403": _error_response(f"The key's role may not do this (allowed: {names})"),
        })
        manual["x-roles"] = sorted(allowed)
        wrapper._apidoc = apidoc  # type: ignore[attr-defined]
        wrapper._roles = allowed  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator
