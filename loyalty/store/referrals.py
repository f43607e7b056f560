"""What referrals read: whether a friend's referral rewarded anyone yet, the member a merged
referrer became, and the contacts a member has or had."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from loyalty.domain.referrals import Contacts, referral_event_id
from loyalty.store import tables as t

#: Profile history fields that hold a phone or an e-mail (an alias: a merged duplicate's).
CONTACT_FIELDS = ("phone", "email", "alias.phone", "alias.email")
#: The most merges followed from a referrer to the member who survived them.
MAX_HOPS = 16


def rewarded(conn: Connection, friend_id: str) -> bool:
    """Whether the friend's referral was already rewarded (its one event is recorded)."""
    ev = t.events.c
    return conn.execute(select(ev.event_id).where(
        ev.event_id == referral_event_id(friend_id))).first() is not None


def survivor_id(conn: Connection, member_id: str) -> str | None:
    """The member a (possibly merged) member is now: itself, or the one it was merged into;
    None when there is no such member."""
    merged = getattr(t.members.c, "merged_into", None)
    m = t.members.c
    current = member_id
    for _ in range(MAX_HOPS):
        columns = [m.member_id] + ([merged] if merged is not None else [])
        row = conn.execute(select(*columns).where(m.member_id == current)).first()
        if row is None:
            return None
        following = row[1] if merged is not None else None
        if not following:
            return current
        current = following
    return current


def erased(row: Any) -> bool:
    """Whether a member row's personal data was erased on request."""
    return getattr(row, "erased_at", None) is not None


def contacts(conn: Connection, member_id: str) -> Contacts:
    """The member's phone and e-mail now, with every value their profile history recorded."""
    m = t.members.c
    row = conn.execute(select(m.phone, m.email).where(m.member_id == member_id)).first()
    phones: list[str | None] = [row.phone] if row is not None else []
    emails: list[str | None] = [row.email] if row is not None else []
    changes = getattr(t, "member_changes", None)
    if changes is not None:
        c = changes.c
        for field, old, new in conn.execute(
                select(c.field, c.old_value, c.new_value)
                .where(c.member_id == member_id, c.field.in_(CONTACT_FIELDS))):
            into = phones if field.endswith("phone") else emails
            into.extend(value for value in (old, new) if isinstance(value, str))
    return Contacts.of(phones, emails)
