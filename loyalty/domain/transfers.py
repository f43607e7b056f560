"""A transfer of points between members, as a caller asks for it."""

from __future__ import annotations

from dataclasses import dataclass

#: The most points one transfer may move, whatever the programme allows.
MAX_TRANSFER = 1_000_000_000


@dataclass(frozen=True)
class Transfer:
    """Points the member in the path gives `to_member_id`; `fingerprint` identifies the exact
    request body for idempotency."""

    transfer_id: str
    member_id: str
    to_member_id: str
    points: int
    fingerprint: str
    reason: str | None = None
