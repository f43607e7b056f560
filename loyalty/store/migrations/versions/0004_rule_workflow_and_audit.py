"""rule workflow and audit

Drafts with approval, versions scheduled for an instant (and cancelled or rolled back), an
append-only audit log, and manual point adjustments naming who made them. Versions activated
before this revision took effect when they were activated.

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0004"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")

APPEND_ONLY = "the audit log is append-only"


def upgrade() -> None:
    with op.batch_alter_table("rule_versions") as batch:
        batch.alter_column("activated_by", type_=sa.String(length=200),
                           existing_type=sa.String(length=100), existing_nullable=False)
        batch.add_column(sa.Column("effective_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("draft_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("restores", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("cancelled_by", sa.String(length=200), nullable=True))
    versions = sa.table("rule_versions", sa.column("effective_at"), sa.column("activated_at"))
    op.execute(versions.update().values(effective_at=versions.c.activated_at))
    with op.batch_alter_table("rule_versions") as batch:
        batch.alter_column("effective_at", existing_type=UTCDateTime(), nullable=False)
        batch.create_index("ix_rule_versions_effective", ["effective_at"], unique=False)
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=200), nullable=True))
    op.create_table(
        "rule_drafts",
        sa.Column("draft_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("contributors", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("draft_id", name=op.f("pk_rule_drafts")),
    )
    op.create_index("ix_rule_drafts_status", "rule_drafts", ["status", "updated_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "adjustments",
        sa.Column("adjustment_id", sa.String(length=128), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.member_id"],
                                name=op.f("fk_adjustments_member_id_members")),
        sa.PrimaryKeyConstraint("adjustment_id", name=op.f("pk_adjustments")),
    )
    op.create_index("ix_adjustments_member", "adjustments", ["member_id"])
    _append_only()


def _append_only() -> None:
    """Refuse UPDATE and DELETE on the audit log in the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
        return
    op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
    op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index("ix_adjustments_member", table_name="adjustments")
    op.drop_table("adjustments")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_rule_drafts_status", table_name="rule_drafts")
    op.drop_table("rule_drafts")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("actor")
    with op.batch_alter_table("rule_versions") as batch:
        batch.drop_index("ix_rule_versions_effective")
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
        batch.drop_column("restores")
        batch.drop_column("draft_id")
        batch.drop_column("reason")
        batch.drop_column("effective_at")
        batch.alter_column("activated_by", type_=sa.String(length=100),
                           existing_type=sa.String(length=200), existing_nullable=False)
