"""phones in E.164

Members enrolled before this revision kept their phone as typed, digits only ("13800000001"
or "+8613800000001"), so one number could belong to two members. This rewrites every phone
into E.164 form, reading numbers without a country code in LOYALTY_DEFAULT_REGION (CN by
default). A number that is not valid, or whose E.164 form another member already holds, is
left as it was and logged, for a person to resolve.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from loyalty.config import Settings
from loyalty.domain.contact import normalise_phone

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

log = logging.getLogger("alembic.runtime.migration")

members = sa.table("members", sa.column("member_id", sa.String), sa.column("phone", sa.String))


def upgrade() -> None:
    """Rewrite stored phones into E.164 where that is unambiguous."""
    region = Settings.from_env().default_region
    conn = op.get_bind()
    rows = conn.execute(sa.select(members.c.member_id, members.c.phone)
                        .where(members.c.phone.is_not(None))).all()
    taken = {phone for _, phone in rows}
    for member_id, phone in rows:
        try:
            e164 = normalise_phone(phone, region)
        except ValueError:
            log.warning("member %s: phone %r is not valid in %s; left as it is",
                        member_id, phone, region)
            continue
        if e164 is None or e164 == phone:
            continue
        if e164 in taken:
            log.warning("member %s: phone %r is %s, which another member holds; left as it is",
                        member_id, phone, e164)
            continue
        conn.execute(sa.update(members).where(members.c.member_id == member_id)
                     .values(phone=e164))
        taken.discard(phone)
        taken.add(e164)


def downgrade() -> None:
    """E.164 is a valid stored form for the earlier revision too: nothing to undo."""
