"""merging duplicate members

A member enrolled twice (two cards, a phone and an e-mail) is folded into one: the duplicate's
row stays, pointing at the member it was merged into (`merged_into`, `merged_at`), so its id
still answers with that pointer and its ledger still shows where its points went. The
duplicate's phone numbers and e-mail addresses that the survivor did not take over (it had its
own) become aliases of the survivor: a till finds the survivor by them, and nobody enrols with
them again.

Revision ID: 0008
Revises: 0007
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("merged_into", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("merged_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_members_merged_into", ["merged_into"], unique=False)
    op.create_table(
        "member_aliases",
        sa.Column("field", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("merged_from", sa.String(length=64), nullable=False),
        sa.Column("merge_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_member_aliases_member_id_members")),
        sa.PrimaryKeyConstraint("field", "value", name=op.f("pk_member_aliases")),
    )
    op.create_index("ix_member_aliases_member", "member_aliases", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_member_aliases_member", table_name="member_aliases")
    op.drop_table("member_aliases")
    with op.batch_alter_table("members") as batch:
        batch.drop_index("ix_members_merged_into")
        batch.drop_column("merged_at")
        batch.drop_column("merged_into")
