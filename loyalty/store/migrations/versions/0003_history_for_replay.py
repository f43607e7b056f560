"""history for replay

What a backtest and explain need to replay the past faithfully: the payment methods and offer
codes a purchase presented, who raised an event (a till, an enrolment or the sweep), and the
order occurrences were recorded in. Occurrences recorded before this revision are entered into
the history in the order of their recording time; their payment methods and offer codes were
not kept and stay unknown (NULL).

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("payment_methods", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("offer_codes", sa.JSON(), nullable=True))
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=20), nullable=True))
    op.create_table(
        "history",
        sa.Column("seq", Id, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("source_type", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_history_member_id_members")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_history")),
    )
    op.create_index("ix_history_member_seq", "history", ["member_id", "seq"], unique=False)
    op.create_index("ix_history_source", "history", ["source_id"], unique=False)
    op.create_index("ix_ledger_entries_source", "ledger_entries", ["source_id"], unique=False)
    conn = op.get_bind()
    tx = sa.table("transactions", sa.column("transaction_id"), sa.column("member_id"),
                  sa.column("occurred_at"), sa.column("recorded_at"))
    ev = sa.table("events", sa.column("event_id"), sa.column("member_id"),
                  sa.column("occurred_at"), sa.column("recorded_at"))
    mr = sa.table("member_rewards", sa.column("source_id"), sa.column("member_id"),
                  sa.column("granted_at"), sa.column("source_type"), sa.column("id"))
    past = sa.union_all(
        sa.select(sa.literal("transaction").label("source_type"),
                  tx.c.transaction_id.label("source_id"), tx.c.member_id,
                  tx.c.occurred_at, tx.c.recorded_at.label("at")),
        sa.select(sa.literal("event"), ev.c.event_id, ev.c.member_id, ev.c.occurred_at,
                  ev.c.recorded_at),
        sa.select(sa.literal("redemption"), mr.c.source_id, mr.c.member_id, mr.c.granted_at,
                  mr.c.granted_at).where(mr.c.source_type == "redemption"),
    ).subquery()
    rows = conn.execute(sa.select(past).order_by(past.c.at, past.c.occurred_at)).all()
    history = sa.table("history", sa.column("member_id"), sa.column("source_type"),
                       sa.column("source_id"), sa.column("occurred_at"))
    if rows:
        conn.execute(sa.insert(history), [
            {"member_id": r.member_id, "source_type": r.source_type, "source_id": r.source_id,
             "occurred_at": r.occurred_at} for r in rows])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_source", table_name="ledger_entries")
    op.drop_index("ix_history_source", table_name="history")
    op.drop_index("ix_history_member_seq", table_name="history")
    op.drop_table("history")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("offer_codes")
        batch.drop_column("payment_methods")
