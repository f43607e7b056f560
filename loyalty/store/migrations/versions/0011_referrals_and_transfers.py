"""referrals and point transfers

Who brought a member (`members.referred_by`, given at enrolment), so that the friend's first
qualifying purchase rewards the referrer once (the `referral_qualified` event, whose id names
the friend, is that once); and the points members gave one another (`transfers`), whose ledger
entries on both sides move lots with their own pending and expiry instants. Members enrolled
before this revision were referred by nobody.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("referred_by", sa.String(length=64), nullable=True))
    op.create_table(
        "transfers",
        sa.Column("transfer_id", sa.String(length=128), nullable=False),
        sa.Column("from_member_id", sa.String(length=64), nullable=False),
        sa.Column("to_member_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["from_member_id"], ["members.member_id"],
                                name=op.f("fk_transfers_from_member_id_members")),
        sa.ForeignKeyConstraint(["to_member_id"], ["members.member_id"],
                                name=op.f("fk_transfers_to_member_id_members")),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_transfers")),
    )
    with op.batch_alter_table("transfers") as batch:
        batch.create_index("ix_transfers_from", ["from_member_id", "occurred_at"], unique=False)
        batch.create_index("ix_transfers_to", ["to_member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.drop_index("ix_transfers_to")
        batch.drop_index("ix_transfers_from")
    op.drop_table("transfers")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("referred_by")
