"""API keys: `Authorization: Bearer <key>` checked by the keys service; roles per endpoint.

A member token (`lm_...`) is refused by every endpoint that takes a role (403), and only a
member token is admitted by the member app's endpoints (`require_member`)."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request

from loyalty.api.context import service_context
from loyalty.api.errors import ApiError
from loyalty.services import keys, member_tokens

F = TypeVar("F", bound=Callable[..., Any])

ROLES = ("pos", "marketing", "marketing_lead", "adjust", "admin")
ADMIN = "admin"
#: What the role table and the OpenAPI document name the holder of a member token.
MEMBER = "member"
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
    if member_tokens.is_member_token(token):
        current_member()
        raise ApiError("forbidden", "A member token only reads its own member, under /me.",
                       details={"role": MEMBER, "allowed_roles": []})
    key = keys.authenticate(service_context(), token)
    if key is None:
        raise _unauthorized("The API key is not valid.", "invalid_token")
    g.api_key = key
    return key


def current_member() -> member_tokens.MemberToken:
    """The member token of the current request; 401 `unauthorized` when it does not hold.
    Looked up on every request: a revocation takes effect at once in every worker."""
    if "member_token" in g:
        known: member_tokens.MemberToken = g.member_token
        return known
    token = bearer_token()
    if token is None:
        raise _unauthorized("A member token is required: send 'Authorization: Bearer <token>'.")
    if not member_tokens.is_member_token(token):
        current_key()
        raise ApiError("forbidden", "This needs a member token; API keys are refused here.",
                       details={"allowed_roles": [MEMBER]})
    try:
        member = member_tokens.authenticate(service_context(), token)
    except member_tokens.TokenRefused as refused:
        raise _unauthorized(str(refused), "invalid_token") from refused
    g.member_token = member
    return member


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


def require_member(func: F) -> F:
    """Let the view run only for a member token; the view reads `current_member()`."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_member()
        return func(*args, **kwargs)

    apidoc = deepcopy(getattr(func, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = [{SECURITY_SCHEME: []}]
    manual.setdefault("responses", {}).update({
        "401": _error_response("Missing, unknown, revoked or expired member token"),
        "403": _error_response("An API key: only a member token is admitted"),
    })
    manual["x-roles"] = [MEMBER]
    wrapper._apidoc = apidoc  # type: ignore[attr-defined]
    wrapper._roles = frozenset({MEMBER})  # type: ignore[attr-defined]
    return cast(F, wrapper)
