"""notifications outbox, webhook endpoints and deliveries

`notifications` becomes an outbox: each row is written in the transaction of what caused it and
gets the public id receivers see (`notification_id`), the channel it goes out on, what was
rendered (template, subject, message, payload), and where its delivery is (`status`: pending,
delivered, dead, suppressed, cancelled; attempts, the next attempt, the last error, when it
arrived). `webhook_endpoints` are where `loyalty deliver` sends them, each with its signing
secret; `notification_deliveries` records each notification's delivery to each endpoint.

Rows recorded before this revision were never sent, and most are stale (a birthday greeting
from months ago): they become `cancelled`, on the `system` channel, with a `last_error` saying
why, so that nothing old is sent the day an endpoint is added. An administrator can still
replay one through the API.

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

import uuid
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.store.types import UTCDateTime

revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

Id = sa.BigInteger().with_variant(sa.Integer, "sqlite")
BEFORE = "recorded before notifications were delivered: not sent (an administrator may replay it)"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("notification_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("channel", sa.String(20), nullable=False,
                                   server_default="system"))
        batch.add_column(sa.Column("template", sa.String(64), nullable=True))
        batch.add_column(sa.Column("subject", sa.Text(), nullable=True))
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(12), nullable=False,
                                   server_default="cancelled"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("queued_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("lease_token", sa.String(32), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivered_at", UTCDateTime(), nullable=True))
    conn = op.get_bind()
    table = sa.table("notifications", sa.column("id", Id),
                     sa.column("notification_id", sa.String), sa.column("last_error", sa.Text))
    ids = [row.id for row in conn.execute(sa.select(table.c.id))]
    for start in range(0, len(ids), 1000):
        conn.execute(table.update().where(table.c.id == sa.bindparam("b_id")).values(
            notification_id=sa.bindparam("b_uuid"), last_error=BEFORE),
            [{"b_id": one, "b_uuid": str(uuid.uuid4())} for one in ids[start:start + 1000]])
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("notification_id", existing_type=sa.String(36), nullable=False)
        batch.alter_column("channel", existing_type=sa.String(20), server_default=None)
        batch.alter_column("status", existing_type=sa.String(12), server_default=None)
        batch.alter_column("attempts", existing_type=sa.Integer(), server_default=None)
        batch.create_unique_constraint("uq_notifications_notification_id", ["notification_id"])
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_member", "notifications", ["member_id", "id"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("endpoint_id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("notification", Id, nullable=False),
        sa.Column("endpoint_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["notification"], ["notifications.id"],
                                name=op.f("fk_notification_deliveries_notification_notifications")),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.endpoint_id"],
            name=op.f("fk_notification_deliveries_endpoint_id_webhook_endpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint("notification", "endpoint_id",
                            name="uq_notification_deliveries_notification"),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_notifications_member", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_notification_id", type_="unique")
        for name in ("delivered_at", "last_error", "lease_token", "next_attempt_at",
                     "queued_at", "attempts", "status", "payload", "subject", "template",
                     "channel", "notification_id"):
            batch.drop_column(name)
