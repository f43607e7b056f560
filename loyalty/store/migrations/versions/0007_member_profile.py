"""member profile: consent per channel, profile history, erasure

A member's profile can now be changed after enrolment, and each change is kept: who changed
which field, from what to what, when, and why (a profile edit, a consent given or withdrawn, a
merge, an erasure) in `member_changes`. `members.consents` holds the member's consent per
channel (sms, email, push, phone; a channel missing means no consent); members enrolled before
this revision have given none. `members.erased_at` marks a member whose personal data was
erased on request: the account, its ledger and its transactions stay, anonymous.

Revision ID: 0007
Revises: 0006
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("consents", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("erased_at", UTCDateTime(), nullable=True))
    op.create_table(
        "member_changes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_member_changes_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_changes")),
    )
    op.create_index("ix_member_changes_member", "member_changes", ["member_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_member_changes_member", table_name="member_changes")
    op.drop_table("member_changes")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("consents")
