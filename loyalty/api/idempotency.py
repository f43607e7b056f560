"""Request fingerprints: two requests are "the same" when they load into equal commands, so
"3999" and "3999.00", or an omitted optional field and its default, are the same request."""

from __future__ import annotations

import hashlib
from dataclasses import fields, is_dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

import orjson

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
        text = format(value.normalize(), "f")
        return text if text != "-0" else "0"
    raise TypeError(f"not JSON data: {type(value).__name__}")


def canonical_json(data: object) -> bytes:
    """Key-sorted compact JSON; a Decimal is written as its shortest exact decimal string, so
    equal amounts ("3999", "3999.00", 3999.0) are written alike."""
    return orjson.dumps(data, default=_default, option=orjson.OPT_SORT_KEYS)


#: Command fields added after requests were first recorded: left at their default, they leave
#: a request's fingerprint what it was, so a till repeating an earlier request still matches.
ADDED_LATER = frozenset({"vouchers"})


def fingerprint(data: object) -> str:
    """SHA-256 (hex) of the canonical JSON of `data`: a loaded command or parsed JSON."""
    if is_dataclass(data) and not isinstance(data, type):
        data = {f.name: getattr(data, f.name) for f in fields(data)
                if f.name != "fingerprint"
                and not (f.name in ADDED_LATER and getattr(data, f.name) == f.default)}
    return hashlib.sha256(canonical_json(data)).hexdigest()


def stamped(command: C, **values: Any) -> C:
    """`command` with any values from the path, and the fingerprint of the whole of it."""
    complete = replace(command, **values)  # type: ignore[type-var]
    return replace(complete, fingerprint=fingerprint(complete))  # type: ignore[type-var]


def recorded_response(recorded: Recorded, *, dry_run: bool = False) -> tuple[Any, ...]:
    """The stored status and body; 200 for a dry run; a replay says so in a header."""
    status = 200 if dry_run else recorded.status
    headers = {REPLAY_HEADER: "true"} if recorded.replayed else {}
    return recorded.body, status, headers
