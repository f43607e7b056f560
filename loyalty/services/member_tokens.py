"""Member tokens: read-only bearer tokens that let a member app read its own member.

A token `lm_<token_id>_<secret>` is issued at a till or a service desk and shown once; only
its hash is stored, as for API keys. Every request looks the token up (no cache), so a revoked
token stops working at once in every worker. A token of a member since merged into another or
whose personal data was erased no longer holds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty.domain.errors import (
    MemberErased,
    MemberMerged,
    UnknownMember,
    UnknownToken,
    ValidationFailed,
)
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.timing import iso
from loyalty.store.member_tokens import MemberTokenRepository
from loyalty.store.uow import SqlUnitOfWork

PREFIX = "lm"


@dataclass(frozen=True)
class MemberToken:
    """A valid member token: who issued it is not needed, only whose it is."""

    token_id: str
    member_id: str


class TokenRefused(Exception):
    """A bearer token that is a member token but does not hold (any more); says why."""


def is_member_token(token: str) -> bool:
    return token.startswith(f"{PREFIX}_")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _status(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def _view(row: Any, now: datetime) -> dict[str, Any]:
    return {"token_id": row.token_id, "member_id": row.member_id, "name": row.name,
            "created_at": iso(row.created_at), "created_by": row.created_by,
            "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at),
            "revoked_by": row.revoked_by, "status": _status(row, now)}


def _member(uow: SqlUnitOfWork, member_id: str) -> Any:
    row = uow.members.get(member_id)
    if row is None:
        raise UnknownMember(f"no member {member_id!r}", details={"member_id": member_id})
    return row


def issue_token(ctx: ServiceContext, member_id: str, actor: Actor, *, name: str | None = None,
                expires_at: datetime | None = None) -> tuple[str, dict[str, Any]]:
    """A new token for the member, shown this once; the audit log records who issued it."""
    now = ctx.clock()
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed.on_fields({"expires_at": ["Must be in the future."]})
    label = (name or "").strip() or None
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    with ctx.uow() as uow:
        row = _member(uow, member_id)
        if row.merged_into is not None:
            raise MemberMerged.pointing(member_id, row.merged_into)
        if row.erased_at is not None:
            raise MemberErased(f"member {member_id!r} was erased: no token is issued for it",
                               details={"member_id": member_id})
        tokens = MemberTokenRepository(uow.connection)
        tokens.add({"token_id": token_id, "member_id": member_id, "token_hash": _hash(secret),
                    "name": label, "created_at": now, "created_by": actor.name,
                    "expires_at": expires_at})
        audit.record(uow, actor, "member_token.issued", now, subject=token_id,
                     details={"member_id": member_id, "name": label,
                              "expires_at": iso(expires_at)})
        issued = tokens.of_member(member_id)
        uow.commit()
    view = next(_view(r, now) for r in issued if r.token_id == token_id)
    return f"{PREFIX}_{token_id}_{secret}", view


def list_tokens(ctx: ServiceContext, member_id: str) -> dict[str, Any]:
    """Every token issued for the member, newest first, with its status now."""
    now = ctx.clock()
    with ctx.uow(read_only=True) as uow:
        _member(uow, member_id)
        rows = MemberTokenRepository(uow.connection).of_member(member_id)
    return {"member_id": member_id, "tokens": [_view(row, now) for row in rows]}


def revoke_token(ctx: ServiceContext, member_id: str, token_id: str,
                 actor: Actor) -> dict[str, Any]:
    """Revoke one of the member's tokens; revoking it again changes nothing."""
    now = ctx.clock()
    with ctx.uow() as uow:
        _member(uow, member_id)
        tokens = MemberTokenRepository(uow.connection)
        if tokens.revoke(member_id, token_id, now, actor.name):
            audit.record(uow, actor, "member_token.revoked", now, subject=token_id,
                         details={"member_id": member_id})
        found = [row for row in tokens.of_member(member_id) if row.token_id == token_id]
        if not found:
            raise UnknownToken(f"member {member_id!r} has no token {token_id!r}",
                               details={"member_id": member_id, "token_id": token_id})
        uow.commit()
    return _view(found[0], now)


def authenticate(ctx: ServiceContext, token: str) -> MemberToken:
    """The member a bearer token reads for; `TokenRefused` saying why when it does not hold."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenRefused("The member token is not valid.")
    _, token_id, secret = parts
    with ctx.uow(read_only=True) as uow:
        row = MemberTokenRepository(uow.connection).find(token_id)
    if row is None or not hmac.compare_digest(row.token_hash, _hash(secret)):
        raise TokenRefused("The member token is not valid.")
    if row.revoked_at is not None:
        raise TokenRefused("The member token was revoked.")
    if row.expires_at is not None and row.expires_at <= ctx.clock():
        raise TokenRefused("The member token has expired.")
    if row.merged_into is not None or row.erased_at is not None:
        raise TokenRefused("The member token's member is no longer in the programme under "
                           "this id: ask for a new token.")
    return MemberToken(row.token_id, row.member_id)
