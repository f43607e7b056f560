"""Notifications recorded before the outbox existed are kept, never sent by surprise: each gets
its public id and is marked cancelled, saying why; the schema goes back down cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from loyalty.store.db import make_engine
from loyalty.store.migrate import alembic_config, current, upgrade

MEMBER = ("INSERT INTO members (member_id, tier, vip, lifecycle_stage, points_available, "
          "points_pending, points_debt, points_lifetime, lifetime_spend, lifetime_visits, "
          "enrolled_at, created_at, bucket, attributes, tags, categories) VALUES ('M-1', "
          "'member', 0, 'new', 0, 0, 0, 0, 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', "
          "0, '{}', '[]', '[]')")
NOTIFICATION = ("INSERT INTO notifications (member_id, notification, message, created_at, "
                "source_id) VALUES ('M-1', :kind, 'Happy birthday!', '2026-01-05 00:00:00', "
                ":source)")
EVENT = ("INSERT INTO events (event_id, member_id, type, occurred_at, recorded_at, attributes) "
         "VALUES ('E-1', 'M-1', 'visit', '2026-01-05 00:00:00', '2026-01-05 00:00:00', '{}')")


def test_notifications_recorded_before_the_outbox_are_kept_cancelled_with_an_id(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0008")
    with engine.begin() as conn:
        conn.execute(text(MEMBER))
        for kind in ("birthday-greeting", "welcome"):
            conn.execute(text(NOTIFICATION), {"kind": kind, "source": f"sweep:{kind}"})
    upgrade(engine, "0009")
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT notification_id, channel, status, attempts, last_error, message "
            "FROM notifications ORDER BY id")).all()
    assert [(r.channel, r.status, r.attempts, r.message) for r in rows] == [
        ("system", "cancelled", 0, "Happy birthday!")] * 2
    assert len({r.notification_id for r in rows}) == 2
    assert all(len(r.notification_id) == 36 for r in rows)
    assert all("recorded before notifications were delivered" in r.last_error for r in rows)
    command.downgrade(alembic_config(engine), "0008")
    assert current(engine) == "0008"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notifications")).scalar_one() == 2
    engine.dispose()


def test_the_schema_goes_down_past_every_change_to_members_and_back_keeping_their_data(
        tmp_path: Path) -> None:
    """SQLite alters `members` by copying it; other tables refer to it, so the copy is made
    with foreign keys switched off for the migration and on again afterwards."""
    engine = make_engine(f"sqlite:///{tmp_path / 'round.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(MEMBER))
        conn.execute(text(EVENT))
    command.downgrade(alembic_config(engine), "0006")
    assert current(engine) == "0006"
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT member_id FROM members")).scalars().all() == ["M-1"]
        assert conn.execute(text("SELECT member_id FROM events")).scalars().all() == ["M-1"]
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()
