"""vouchers and returned rewards

What became of a reward a member was given: used by a purchase that presented its voucher,
revoked by a return of the purchase that granted it, or kept (used already) after that return;
the lines of the purchase it was granted for; and the vouchers a purchase presented, so that a
replay uses the same ones. Rewards given before this revision are held, and were granted for
their purchase as a whole.

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0005"
down_revision: Union[str, Sequence[str], None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("member_rewards") as batch:
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=False,
                                   server_default="held"))
        batch.add_column(sa.Column("used_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("used_transaction_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("revoked_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("kept_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("kept_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("source_lines", sa.JSON(), nullable=True))
        batch.create_index("ix_member_rewards_source", ["source_id"], unique=False)
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("vouchers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("vouchers")
    with op.batch_alter_table("member_rewards") as batch:
        batch.drop_index("ix_member_rewards_source")
        batch.drop_column("source_lines")
        batch.drop_column("kept_by")
        batch.drop_column("kept_at")
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
        batch.drop_column("used_transaction_id")
        batch.drop_column("used_at")
        batch.drop_column("status")
