"""points per unit

The points each purchase line earned for its units (awards per unit, with what multipliers
added to them), so that a return takes them back per unit returned. Lines recorded before this
revision earned nothing per unit: their purchases' points are taken back by value, as before.

Revision ID: 0006
Revises: 0005
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("transaction_lines") as batch:
        batch.add_column(sa.Column("unit_points", sa.BigInteger(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("transaction_lines") as batch:
        batch.drop_column("unit_points")
