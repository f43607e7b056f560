"""win-back control groups

A rule with a holdout sets a fixed share of the members it decides for aside (the control
group): `offer_experiments` records the group of every member it decided for, so that the
win-back report can compare what each group bought within the rule's window.

Revision ID: 0015
Revises: 0014
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0015"
down_revision: Union[str, Sequence[str], None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "offer_experiments",
        sa.Column("experiment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("ruleset_version", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("grp", sa.String(length=10), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("within_days", sa.Integer(), nullable=False),
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("window_until", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_offer_experiments_member_id_members")),
        sa.PrimaryKeyConstraint("experiment_id", name=op.f("pk_offer_experiments")),
        sa.UniqueConstraint("rule_id", "member_id", "source_id",
                            name=op.f("uq_offer_experiments_rule_id")),
    )
    op.create_index("ix_offer_experiments_rule", "offer_experiments",
                    ["rule_id", "window_until"])
    op.create_index("ix_offer_experiments_member", "offer_experiments", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_offer_experiments_member", table_name="offer_experiments")
    op.drop_index("ix_offer_experiments_rule", table_name="offer_experiments")
    op.drop_table("offer_experiments")
