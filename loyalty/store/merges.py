"""The SQL of merging a duplicate member into another: which rows follow the person, the
aliases that keep the duplicate's contact details findable, and the pointer left behind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, insert, select, update

from loyalty.store import tables as t

#: Tables whose rows about the duplicate become the survivor's: what the person bought, did,
#: holds and is owed (a return of the duplicate's purchase is then the survivor's return), and
#: the history a backtest replays; and the control-group decisions made for the duplicate
#: (in the group the duplicate's id fell in), so that the survivor's purchases count for them.
MOVED = ("transactions", "events", "history", "member_rewards", "offers", "privileges",
         "adjustments", "notifications", "member_relatives", "important_dates",
         "offer_experiments")
#: Rows of a moved table that stay: a transfer's history rows name the giver and the receiver
#: as recorded (the transfer and its ledger entries stay the duplicate's).
KEPT_ROWS = {"history": ("source_type", "transfer")}
#: Tables whose rows stay with the duplicate, as recorded: its ledger and lots (the merge's
#: entries close them), its own tier history, the requests it answered, its profile history,
#: the member-app tokens issued for it (refused from now on: the app asks for the survivor's);
#: the monthly snapshots of where it stood (the reports count a merged member as the survivor
#: from the merge on; a month holds one row per member, so they could not move);
#: `rule_usage` is added into the survivor's counts by `merge_usage`, `member_aliases`
#: re-pointed by `repoint`.
STAYS = ("ledger_entries", "point_lots", "tier_history", "idempotency_keys", "member_changes",
         "member_tokens", "rule_usage", "member_aliases", "member_snapshots")

_m, _a, _u = t.members.c, t.member_aliases.c, t.rule_usage.c


def member_tables() -> list[Table]:
    """Every table with a `member_id` column, but `members` itself."""
    return [table for table in t.metadata.sorted_tables
            if "member_id" in table.c and table.name != "members"]


def alias_owner(conn: Connection, field: str, value: str) -> str | None:
    """The member a merged duplicate's phone or e-mail (canonical form) now finds."""
    row = conn.execute(select(_a.member_id).where(_a.field == field, _a.value == value)).first()
    return None if row is None else str(row.member_id)


class MergeRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def move_rows(self, duplicate_id: str, survivor_id: str) -> dict[str, int]:
        """Re-point the duplicate's rows of every `MOVED` table; how many each had."""
        moved = {}
        for name in MOVED:
            table = t.metadata.tables.get(name)
            if table is None:
                continue
            which = table.c.member_id == duplicate_id
            if name in KEPT_ROWS:
                column, value = KEPT_ROWS[name]
                which = and_(which, table.c[column] != value)
            result = self.conn.execute(update(table).where(which)
                                       .values(member_id=survivor_id))
            moved[name] = int(result.rowcount or 0)
        return moved

    def merge_usage(self, duplicate_id: str, survivor_id: str) -> int:
        """Add the duplicate's uses of limited rules into the survivor's (the person had them
        all); how many (rule, period) counts it had."""
        rows = self.conn.execute(select(t.rule_usage).where(_u.member_id == duplicate_id)).all()
        for row in rows:
            same = and_(_u.member_id == survivor_id, _u.rule_id == row.rule_id,
                        _u.period_key == row.period_key)
            added = self.conn.execute(update(t.rule_usage).where(same).values(
                times=_u.times + row.times, points=_u.points + row.points)).rowcount
            if not added:
                self.conn.execute(insert(t.rule_usage).values(
                    member_id=survivor_id, rule_id=row.rule_id, period_key=row.period_key,
                    times=row.times, points=row.points))
        self.conn.execute(delete(t.rule_usage).where(_u.member_id == duplicate_id))
        return len(rows)

    def repoint(self, duplicate_id: str, survivor_id: str) -> None:
        """What pointed at the duplicate points at the survivor: members merged into it
        earlier (so `merged_into` always names a member that was not merged), its aliases, and
        members it referred."""
        self.conn.execute(update(t.members).where(_m.merged_into == duplicate_id)
                          .values(merged_into=survivor_id))
        self.conn.execute(update(t.member_aliases).where(_a.member_id == duplicate_id)
                          .values(member_id=survivor_id))
        if "referred_by" in t.members.c:
            self.conn.execute(update(t.members).where(_m.referred_by == duplicate_id,
                                                      _m.member_id != survivor_id)
                              .values(referred_by=survivor_id))

    def add_aliases(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            self.conn.execute(insert(t.member_aliases), rows)

    def aliases(self, member_id: str) -> list[tuple[str, str]]:
        """(field, value) of the member's aliases."""
        return [(r.field, r.value) for r in self.conn.execute(
            select(_a.field, _a.value).where(_a.member_id == member_id)
            .order_by(_a.field, _a.value))]

    def mark_merged(self, duplicate_id: str, survivor_id: str, at: datetime,
                    **values: Any) -> None:
        """Leave the duplicate's row pointing at the survivor."""
        self.conn.execute(update(t.members).where(_m.member_id == duplicate_id)
                          .values(merged_into=survivor_id, merged_at=at, **values))
