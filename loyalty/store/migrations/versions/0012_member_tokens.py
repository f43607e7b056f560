"""member tokens for member apps

A member app reads its own member (summary, ledger, vouchers, offers) with a member-scoped,
read-only bearer token issued at a till or a service desk. Only each token's SHA-256 hash is
kept, as for API keys; a token may carry an expiry and is revoked by stamping `revoked_at`, so
the list a service desk sees keeps every token ever issued.

Revision ID: 0012
Revises: 0011
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "member_tokens",
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_member_tokens_member_id_members")),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_member_tokens")),
    )
    op.create_index("ix_member_tokens_member", "member_tokens", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_member_tokens_member", table_name="member_tokens")
    op.drop_table("member_tokens")
