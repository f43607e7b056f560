"""Member tokens: the SQL of issuing, finding, listing and revoking them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from loyalty.store import tables as t

_k = t.member_tokens.c
_m = t.members.c
#: A token with what decides whether its member may still use it; one lookup per request.
TOKEN = (
    select(_k.token_id, _k.member_id, _k.token_hash, _k.expires_at, _k.revoked_at,
           _m.merged_into, _m.erased_at)
    .join_from(t.member_tokens, t.members, _k.member_id == _m.member_id)
    .where(_k.token_id == bindparam("b_token_id")))


class MemberTokenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.member_tokens), values)

    def find(self, token_id: str) -> Any:
        """The token with its member's merge and erasure marks, or None."""
        return self.conn.execute(TOKEN, {"b_token_id": token_id}).first()

    def of_member(self, member_id: str) -> Sequence[Any]:
        """Every token issued for the member, newest first (the hashes left out)."""
        return self.conn.execute(
            select(_k.token_id, _k.member_id, _k.name, _k.created_at, _k.created_by,
                   _k.expires_at, _k.revoked_at, _k.revoked_by)
            .where(_k.member_id == member_id)
            .order_by(_k.created_at.desc(), _k.token_id)
        ).all()

    def revoke(self, member_id: str, token_id: str, at: datetime, by: str) -> int:
        """Stamp an unrevoked token of the member revoked; the number of tokens revoked."""
        return self.conn.execute(
            update(t.member_tokens)
            .where(_k.member_id == member_id, _k.token_id == token_id,
                   _k.revoked_at.is_(None))
            .values(revoked_at=at, revoked_by=by)
        ).rowcount
