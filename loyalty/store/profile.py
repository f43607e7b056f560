"""The SQL of members' profiles: their history of changes, lookups by contact, and erasing what
personal data other tables hold of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Row,
    Table,
    delete,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.types import String, Text

from loyalty.domain.profile import Change
from loyalty.store import tables as t
from loyalty.store.merges import alias_owner

_m, _c = t.members.c, t.member_changes.c

#: Columns that hold personal data besides those of `members` and `member_changes`: the text of
#: stored notifications, and any column declared with `info={"personal": True}`.
ALWAYS_PERSONAL = {("notifications", "message")}
#: Idempotency scopes whose stored answers repeat personal data (a relative's name): erased
#: with the member.
PERSONAL_SCOPES = ("relative", "important_date")
#: Attributes of the events the service raised that name someone (a relative's birthday).
PERSONAL_EVENT_ATTRIBUTES = {"important_date": ("name", "label")}
#: The text of a notification a receipt shows (it may name the member).
RECEIPT_TEXT = ("message", "subject")


def personal_columns() -> list[tuple[Table, list[str]]]:
    """Each table with a `member_id` column and the columns of it that hold personal data."""
    found = []
    for table in t.metadata.sorted_tables:
        if table.name in ("members", "member_changes") or "member_id" not in table.c:
            continue
        names = [column.name for column in table.c
                 if column.info.get("personal") is True
                 or (table.name, column.name) in ALWAYS_PERSONAL]
        if names:
            found.append((table, names))
    return found


def personal_tables() -> list[Table]:
    """Tables whose rows about a member are personal data as a whole (`info={"personal":
    "delete"}`), children first."""
    return [table for table in reversed(t.metadata.sorted_tables)
            if table.info.get("personal") == "delete" and "member_id" in table.c]


def _blank(table: Table, name: str) -> Any:
    column = table.c[name]
    if isinstance(column.type, String | Text) and not column.nullable:
        return ""
    if isinstance(column.type, JSON) and not column.nullable:
        return {}
    return None


class ProfileRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def holder(self, email: str | None, phone: str | None,
               other_than: str) -> str | None:
        """Which of `email`, `phone` another member than `other_than` already has (as their
        own, or as the alias a merged duplicate left them)."""
        for name, value in (("email", email), ("phone", phone)):
            if value is not None and self.find(name, value) not in (None, other_than):
                return name
        return None

    def find(self, field: str, value: str) -> str | None:
        """The id of the member with this e-mail address or phone number (canonical form),
        or whom a merged duplicate's one now finds."""
        column = _m.email if field == "email" else _m.phone
        row = self.conn.execute(select(_m.member_id).where(column == value)).first()
        return str(row.member_id) if row is not None else alias_owner(self.conn, field, value)

    def merged_into(self, member_id: str) -> list[str]:
        """The members merged into this one: the same person's earlier records."""
        return list(self.conn.execute(
            select(_m.member_id).where(_m.merged_into == member_id).order_by(_m.member_id)
        ).scalars())

    def add_changes(self, member_id: str, changes: Iterable[Change], at: datetime,
                    actor: str) -> None:
        """Record each change to the member's profile, made at `at` by `actor`."""
        rows = [{"member_id": member_id, "field": change.field, "old_value": change.old,
                 "new_value": change.new, "changed_at": at, "actor": actor,
                 "source": change.source} for change in changes]
        if rows:
            self.conn.execute(insert(t.member_changes), rows)

    def changes(self, member_id: str, *, limit: int,
                cursor: int | None) -> Sequence[Row[Any]]:
        """The member's changes, newest first, below `cursor` (a change id) when given."""
        query = select(t.member_changes).where(_c.member_id == member_id)
        if cursor is not None:
            query = query.where(_c.id < cursor)
        return self.conn.execute(query.order_by(_c.id.desc()).limit(limit)).all()

    def scrub_changes(self, member_id: str, personal: Iterable[str],
                      prefixes: Iterable[str]) -> int:
        """Blank the old and new values of the member's changes to personal fields."""
        fields = list(personal)
        matches = [_c.field.in_(fields), *(_c.field.startswith(p, autoescape=True)
                                          for p in prefixes)]
        return self.conn.execute(
            update(t.member_changes)
            .where(_c.member_id == member_id, or_(*matches))
            .values(old_value=null(), new_value=null())
        ).rowcount

    def erase_elsewhere(self, member_id: str) -> dict[str, int]:
        """Blank the member's personal data in other tables and delete their personal rows;
        how many rows each table had touched."""
        touched: dict[str, int] = {}
        for table in personal_tables():
            count = self.conn.execute(delete(table).where(table.c.member_id == member_id))
            touched[table.name] = count.rowcount
        for table, names in personal_columns():
            if table.info.get("personal") == "delete":
                continue
            count = self.conn.execute(
                update(table).where(table.c.member_id == member_id)
                .values({name: _blank(table, name) for name in names}))
            touched[table.name] = count.rowcount
        touched[t.idempotency_keys.name] = self._erase_answers(member_id)
        touched[t.events.name] = self._erase_event_names(member_id)
        return touched

    def _erase_event_names(self, member_id: str) -> int:
        """Blank the names the member's raised events carry (a relative's, for a reminder)."""
        e = t.events.c
        rows = self.conn.execute(select(e.event_id, e.type, e.attributes).where(
            e.member_id == member_id, e.type.in_(PERSONAL_EVENT_ATTRIBUTES))).all()
        changed = 0
        for row in rows:
            names = PERSONAL_EVENT_ATTRIBUTES[row.type]
            attributes = dict(row.attributes or {})
            if any(attributes.get(name) for name in names):
                attributes.update({name: "" for name in names if attributes.get(name)})
                self.conn.execute(update(t.events).where(e.event_id == row.event_id)
                                  .values(attributes=attributes))
                changed += 1
        return changed

    def _erase_answers(self, member_id: str) -> int:
        """Blank the personal data in the answers kept for replays: a receipt's notification
        texts, and the whole answer of a personal scope (a relative added ...)."""
        k = t.idempotency_keys.c
        rows = self.conn.execute(
            select(k.scope, k.key, k.response).where(k.member_id == member_id)).all()
        changed = 0
        for row in rows:
            response = erased_answer(row.scope, row.response, member_id)
            if response != row.response:
                self.conn.execute(update(t.idempotency_keys)
                                  .where(k.scope == row.scope, k.key == row.key)
                                  .values(response=response))
                changed += 1
        return changed


def erased_answer(scope: str, response: Any, member_id: str) -> Any:
    """A stored answer without the personal data it repeated."""
    if scope in PERSONAL_SCOPES:
        return {"member_id": member_id, "erased": True}
    if not isinstance(response, dict) or not isinstance(response.get("notifications"), list):
        return response
    return {**response, "notifications": [
        {**item, **{name: "" for name in RECEIPT_TEXT if item.get(name)}}
        if isinstance(item, dict) else item
        for item in response["notifications"]]}
