"""Request fingerprints: two requests are "the same" when their parsed JSON bodies are equal."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

from loyalty.api.parsing import request_json
from loyalty.services.context import Recorded

C = TypeVar("C")

#: Set on a response that repeats the answer to an earlier request with the same key.
REPLAY_HEADER = "Idempotent-Replayed"
REPLAY_DOC = {
    REPLAY_HEADER: {
        "description": "Present when this repeats the answer to an earlier identical request.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON data: {type(value).__name__}")


def canonical_json(raw_json: object) -> str:
    """Key-sorted compact JSON text; a Decimal is written as its exact decimal string."""
    return json.dumps(
        raw_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def fingerprint(raw_json: object) -> str:
    """SHA-256 (hex) of the canonical JSON of a parsed request body (query string excluded)."""
    return hashlib.sha256(canonical_json(raw_json).encode("utf-8")).hexdigest()


def stamped(command: C, **values: Any) -> C:
    """`command` with the current request's body fingerprint and any values from the path."""
    return replace(command, fingerprint=fingerprint(request_json()), **values)  # type: ignore[type-var]


def recorded_response(recorded: Recorded, *, dry_run: bool = False) -> tuple[Any, ...]:
    """The stored status and body; 200 for a dry run; a replay says so in a header."""
    status = 200 if dry_run else recorded.status
    headers = {REPLAY_HEADER: "true"} if recorded.replayed else {}
    return recorded.body, status, headers
