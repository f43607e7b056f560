"""relatives and important dates

The people who matter to a member (`member_relatives`: a spouse, a child, a friend, each with
a name and an id the till chose) and the days the member wants remembered every year
(`important_dates`: a relative's birthday, a wedding anniversary, any dated occasion with a
label; month and day, the year when known). The daily sweep raises `important_date` a few days
ahead of each, so rules can remind the member in time. Members recorded before this revision
have no relatives and no dates.

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "member_relatives",
        sa.Column("relative_id", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_member_relatives_member_id_members")),
        sa.PrimaryKeyConstraint("relative_id", name=op.f("pk_member_relatives")),
    )
    op.create_index("ix_member_relatives_member", "member_relatives", ["member_id"])
    op.create_table(
        "important_dates",
        sa.Column("date_id", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("relative_id", sa.String(length=128), nullable=True),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_important_dates_member_id_members")),
        sa.ForeignKeyConstraint(["relative_id"], ["member_relatives.relative_id"],
                                name=op.f("fk_important_dates_relative_id_member_relatives")),
        sa.PrimaryKeyConstraint("date_id", name=op.f("pk_important_dates")),
    )
    op.create_index("ix_important_dates_member", "important_dates", ["member_id"])
    op.create_index("ix_important_dates_relative", "important_dates", ["relative_id"])


def downgrade() -> None:
    op.drop_index("ix_important_dates_relative", table_name="important_dates")
    op.drop_index("ix_important_dates_member", table_name="important_dates")
    op.drop_table("important_dates")
    op.drop_index("ix_member_relatives_member", table_name="member_relatives")
    op.drop_table("member_relatives")
