"""API keys: created with a role, stored hashed, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from loyalty.domain.errors import ValidationFailed
from loyalty.services import audit
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.timing import iso

ROLES = ("pos", "marketing", "marketing_lead", "adjust", "admin")
PREFIX = "lk"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(ctx: ServiceContext, role: str, name: str,
               actor: Actor | None = None) -> tuple[str, dict[str, Any]]:
    """A new key `lk_<id>_<secret>`; only its hash is stored, so it is shown this once. The
    audit log records who created it (default: the person at the command line)."""
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}",
                               details={"fields": {"role": [f"unknown role {role!r}"]}})
    if not name.strip():
        raise ValidationFailed("a key needs a name", details={"fields": {"name": ["empty"]}})
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    now = ctx.clock()
    with ctx.uow() as uow:
        uow.programme.add_key({"key_id": key_id, "name": name.strip(), "role": role,
                               "key_hash": _hash(secret), "created_at": now})
        audit.record(uow, actor or audit.cli_actor(), "key.created", now, subject=key_id,
                     details={"name": name.strip(), "role": role})
        uow.commit()
    return f"{PREFIX}_{key_id}_{secret}", {"key_id": key_id, "name": name.strip(), "role": role,
                                          "created_at": iso(now)}


def list_keys(ctx: ServiceContext) -> list[dict[str, Any]]:
    with ctx.uow(read_only=True) as uow:
        return [{"key_id": k.key_id, "name": k.name, "role": k.role,
                 "created_at": iso(k.created_at), "revoked_at": iso(k.revoked_at)}
                for k in uow.programme.api_keys()]


def revoke_key(ctx: ServiceContext, key_id: str, actor: Actor | None = None) -> bool:
    """Revoke a key (False when there is no active key `key_id`); the audit log records who."""
    now = ctx.clock()
    with ctx.uow() as uow:
        done = uow.programme.revoke_key(key_id, now) > 0
        if done:
            audit.record(uow, actor or audit.cli_actor(), "key.revoked", now, subject=key_id)
        uow.commit()
    _cache.clear()
    return done


class _KeyCache:
    """Recently verified keys, so that a busy till does not cost a key lookup per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[float, ApiKey]] = {}

    def get(self, token: str, ttl: float) -> ApiKey | None:
        item = self._items.get(token)
        if item is None or time.monotonic() - item[0] > ttl:
            return None
        return item[1]

    def put(self, token: str, key: ApiKey) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[token] = (time.monotonic(), key)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _KeyCache()


def authenticate(ctx: ServiceContext, token: str) -> ApiKey | None:
    """The key a bearer token stands for, or None when it is unknown or revoked."""
    cache_key = f"{id(ctx)}:{token}"
    cached = _cache.get(cache_key, ctx.settings.key_cache_seconds)
    if cached is not None:
        return cached
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, key_id, secret = parts
    with ctx.uow(read_only=True) as uow:
        row = uow.programme.key(key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(secret)):
        return None
    key = ApiKey(row.key_id, row.name, row.role)
    _cache.put(cache_key, key)
    return key
