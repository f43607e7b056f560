"""monthly member snapshots for the value reports

The first sweep of each month (UTC) records, for every member, where they stand: tier, VIP,
lifecycle stage, value segment and current value, and their spend over the last 365 days. Each
row also keeps the stage and segment of the member's row of the month before, so the movement
between months is read from one month's rows. Rows are never changed once written.

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import Money, UTCDateTime

revision: str = "0014"
down_revision: Union[str, Sequence[str], None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "member_snapshots",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=20), nullable=False),
        sa.Column("value_segment", sa.String(length=20), nullable=True),
        sa.Column("current_value", Money(), nullable=True),
        sa.Column("spend_365d", Money(), nullable=False),
        sa.Column("previous_stage", sa.String(length=20), nullable=True),
        sa.Column("previous_segment", sa.String(length=20), nullable=True),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("month", "member_id", name=op.f("pk_member_snapshots")),
    )
    op.create_index("ix_member_snapshots_spend", "member_snapshots", ["month", "spend_365d"])


def downgrade() -> None:
    op.drop_index("ix_member_snapshots_spend", table_name="member_snapshots")
    op.drop_table("member_snapshots")
