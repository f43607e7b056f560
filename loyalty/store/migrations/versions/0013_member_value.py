"""lifetime value columns on members

Each sweep values every member who has bought: what they brought over the programme's
`value.current_days` (`current_value`), what the purchase and spend models predict they will
bring over `value.horizon_days` (`potential_value`), the two together (`clv`), the value
segment marketing named for their quadrant (`value_segment`), and the sweep's instant
(`value_at`). Members valued by no sweep yet, and those who never bought, hold nulls.

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import Money, UTCDateTime

revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ("current_value", "potential_value", "clv", "value_segment", "value_at")


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("current_value", Money(), nullable=True))
        batch.add_column(sa.Column("potential_value", Money(), nullable=True))
        batch.add_column(sa.Column("clv", Money(), nullable=True))
        batch.add_column(sa.Column("value_segment", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("value_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
