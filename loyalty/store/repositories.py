"""Repositories: the SQL the use cases need, one class per area, over one open connection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)

from loyalty.domain.ledger import Account, Entry, Lot
from loyalty.domain.model import Member, MemberStats
from loyalty.domain.policy import MetricDef
from loyalty.store import tables as t
from loyalty.store.metric_queries import figure_values

# Statements on the hot path are built once: constructing SQLAlchemy expressions per request
# costs more CPU than running them. Parameters are bound by name at execution.
_m = t.members.c
MEMBER = select(t.members).where(_m.member_id == bindparam("b_member_id"))
MEMBER_LOCKED = MEMBER.with_for_update()
MEMBER_UPDATE = update(t.members).where(_m.member_id == bindparam("b_member_id"))
INSERT_TRANSACTION = insert(t.transactions)
INSERT_LINES = insert(t.transaction_lines)
INSERT_EVENT = insert(t.events)
INSERT_HISTORY = insert(t.history)
INSERT_LOTS = insert(t.point_lots).returning(t.point_lots.c.lot_id, sort_by_parameter_order=True)
UPDATE_LOT = update(t.point_lots).where(t.point_lots.c.lot_id == bindparam("b_lot_id"))
INSERT_ENTRIES = insert(t.ledger_entries)
INSERT_IDEMPOTENCY = insert(t.idempotency_keys)
IDEMPOTENCY = select(t.idempotency_keys).where(
    t.idempotency_keys.c.scope == bindparam("b_scope"),
    t.idempotency_keys.c.key == bindparam("b_key"),
)


def net_points(tx: Any) -> Any:
    """Points a transaction row adds to "points earned": a purchase's award, less what a return
    took back (counted on the return's date, as spend is)."""
    return tx.points_earned - case((tx.type == "return", tx.points_clawed_back), else_=0)


def _stats_query() -> Any:
    tx = t.transactions.c
    since: dict[int, Any] = {days: bindparam(f"since_{days}") for days in (30, 90, 365)}

    def window(days: int, value: Any) -> Any:
        return func.coalesce(func.sum(case((tx.occurred_at >= since[days], value), else_=0)), 0)

    visit = case((tx.type == "purchase", 1), else_=0)
    return select(
        window(30, tx.total), window(90, tx.total), window(365, tx.total),
        window(30, visit), window(90, visit), window(365, visit), window(365, net_points(tx)),
    ).where(tx.member_id == bindparam("b_member_id"), tx.occurred_at >= since[365],
            tx.occurred_at <= bindparam("as_of"))


STATS = _stats_query()
_lots = t.point_lots.c
OPEN_LOTS = select(t.point_lots).where(
    _lots.member_id == bindparam("b_member_id"), _lots.remaining > 0).order_by(_lots.lot_id)
DUE_LOTS = select(t.point_lots).where(
    _lots.member_id == bindparam("b_member_id"), _lots.remaining > 0,
    or_(and_(_lots.state == "pending", _lots.pending_until <= bindparam("as_of")),
        _lots.expires_at <= bindparam("as_of")),
).order_by(_lots.lot_id)
#: What a member is told: points still pending and the soonest expiries, by instant.
_PENDING = (
    select(literal_column("'pending'").label("kind"), _lots.pending_until.label("at"),
           func.sum(_lots.remaining).label("points"))
    .where(_lots.member_id == bindparam("b_member_id"), _lots.state == "pending",
           _lots.remaining > 0, _lots.pending_until > bindparam("as_of"))
    .group_by(_lots.pending_until).order_by(_lots.pending_until)
    .limit(bindparam("b_pending_limit")))
_EXPIRING = (
    select(literal_column("'expiry'").label("kind"), _lots.expires_at.label("at"),
           func.sum(_lots.remaining).label("points"))
    .where(_lots.member_id == bindparam("b_member_id"), _lots.remaining > 0,
           _lots.expires_at > bindparam("as_of"))
    .group_by(_lots.expires_at).order_by(_lots.expires_at)
    .limit(bindparam("b_expiry_limit")))
PENDING_SCHEDULE = select(_PENDING.subquery())
EXPIRIES = select(_EXPIRING.subquery())
OUTLOOK = union_all(PENDING_SCHEDULE, EXPIRIES)
_p = t.privileges.c
ACTIVE_PRIVILEGES = (
    select(_p.privilege, func.max(_p.valid_until).label("valid_until"),
           func.count(_p.id).label("grants"), func.count(_p.valid_until).label("bounded"))
    .where(_p.member_id == bindparam("b_member_id"), _p.granted_at <= bindparam("as_of"),
           or_(_p.revoked_at.is_(None), _p.revoked_at > bindparam("as_of")),
           or_(_p.valid_until.is_(None), _p.valid_until > bindparam("as_of")))
    .group_by(_p.privilege).order_by(_p.privilege)
)
_k = t.idempotency_keys.c
# A write's first statement: the member, any earlier request with the same idempotency key,
# and whether the member holds any privilege at all (when not, the receipt needs no lookup).
MEMBER_FOR_WRITE = (
    select(
        t.members,
        _k.fingerprint.label("prior_fingerprint"), _k.member_id.label("prior_member_id"),
        _k.status_code.label("prior_status"), _k.response.label("prior_response"),
        select(_p.id).where(_p.member_id == _m.member_id).exists().label("has_privileges"),
    )
    .select_from(t.members.outerjoin(t.idempotency_keys, and_(
        _k.scope == bindparam("b_scope"), _k.key == bindparam("b_key"))))
    .where(_m.member_id == bindparam("b_member_id"))
)
MEMBER_FOR_WRITE_LOCKED = MEMBER_FOR_WRITE.with_for_update(of=t.members)
_u = t.rule_usage.c
USAGE = select(_u.rule_id, _u.period_key, _u.times).where(
    _u.member_id == bindparam("b_member_id"), _u.rule_id.in_(bindparam("rules", expanding=True)))


class MemberRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, member_id: str, *, lock: bool = False) -> Row[Any] | None:
        """The member row; with `lock`, held until commit (row lock on PostgreSQL; SQLite's
        write transaction is already exclusive)."""
        query = MEMBER_LOCKED if lock and self.conn.dialect.name != "sqlite" else MEMBER
        return self.conn.execute(query, {"b_member_id": member_id}).first()

    def get_for_write(self, member_id: str, scope: str, key: str) -> Row[Any] | None:
        """The member row, locked as `get(lock=True)`, with `prior_*` columns describing an
        earlier request recorded under (scope, key) and a `has_privileges` flag."""
        sqlite = self.conn.dialect.name == "sqlite"
        query = MEMBER_FOR_WRITE if sqlite else MEMBER_FOR_WRITE_LOCKED
        return self.conn.execute(
            query, {"b_member_id": member_id, "b_scope": scope, "b_key": key}
        ).first()

    def conflict(self, member_id: str | None, email: str | None, phone: str | None) -> str | None:
        """Which identifier (member_id, email, phone) is already taken, if any: by a member,
        or as the alias a merged duplicate left its survivor."""
        c, a = t.members.c, t.member_aliases.c
        checks = [("member_id", c.member_id, member_id), ("email", c.email, email),
                  ("phone", c.phone, phone)]
        for name, column, value in checks:
            if value is not None and self.conn.execute(
                select(t.members.c.member_id).where(column == value)
            ).first():
                return name
            if value is not None and name != "member_id" and self.conn.execute(
                select(a.member_id).where(a.field == name, a.value == value)
            ).first():
                return name
        return None

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.members).values(**values))

    def update(self, member_id: str, **values: Any) -> None:
        self.conn.execute(MEMBER_UPDATE, {**values, "b_member_id": member_id})

    @staticmethod
    def to_domain(row: Row[Any]) -> Member:
        return Member(
            member_id=row.member_id, name=row.name, email=row.email, phone=row.phone,
            birth_date=row.birth_date, gender=row.gender, region=row.region,
            enrolled_at=row.enrolled_at, channel=row.channel, tier=row.tier, vip=row.vip,
            lifecycle_stage=row.lifecycle_stage, tags=tuple(row.tags or ()),
            attributes=dict(row.attributes or {}), clv=row.clv,
            potential_value=row.potential_value, value_segment=row.value_segment,
        )


class TransactionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stats(self, member: Row[Any], as_of: datetime) -> MemberStats:
        """Spend and visits over 30/90/365 days before `as_of`, net of returns, in one query."""
        params = {f"since_{days}": as_of - timedelta(days=days) for days in (30, 90, 365)}
        row = self.conn.execute(STATS, {**params, "as_of": as_of,
                                        "b_member_id": member.member_id}).one()
        last = member.last_purchase_at
        return MemberStats(
            spend_30d=row[0], spend_90d=row[1], spend_365d=row[2], visits_30d=int(row[3]),
            visits_90d=int(row[4]), visits_365d=int(row[5]), lifetime_spend=member.lifetime_spend,
            lifetime_visits=member.lifetime_visits,
            days_since_last_purchase=None if last is None else max(0, (as_of - last).days),
            categories_bought=tuple(member.categories or ()),
            points_available=member.points_available, points_lifetime=member.points_lifetime,
            points_365d=int(row[6]),
        )

    def metric_figures(self, member_id: str, as_of: datetime,
                       metrics: Sequence[MetricDef]) -> dict[str, Decimal]:
        """The figures of the declared metrics as of `as_of` (`nights_365d`: ...), by name."""
        return figure_values(self.conn, member_id, as_of, metrics)

    def get(self, transaction_id: str) -> Row[Any] | None:
        return self.conn.execute(
            select(t.transactions).where(t.transactions.c.transaction_id == transaction_id)
        ).first()

    def lines(self, transaction_id: str) -> Sequence[Row[Any]]:
        return self.conn.execute(
            select(t.transaction_lines)
            .where(t.transaction_lines.c.transaction_id == transaction_id)
            .order_by(t.transaction_lines.c.line_no)
        ).all()

    def insert(self, values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        self.conn.execute(INSERT_TRANSACTION, values)
        if lines:
            self.conn.execute(INSERT_LINES, lines)

    def update(self, transaction_id: str, **values: Any) -> None:
        self.conn.execute(
            update(t.transactions)
            .where(t.transactions.c.transaction_id == transaction_id)
            .values(**values)
        )

    def set_returned(self, transaction_id: str, returned: dict[int, int]) -> None:
        for line_no, quantity in returned.items():
            self.conn.execute(
                update(t.transaction_lines)
                .where(t.transaction_lines.c.transaction_id == transaction_id,
                       t.transaction_lines.c.line_no == line_no)
                .values(returned_quantity=quantity)
            )

    def insert_event(self, values: dict[str, Any]) -> None:
        self.conn.execute(INSERT_EVENT, values)


class LedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def account(self, member: Row[Any], *, as_of: datetime | None = None) -> Account:
        """The member's balances with their open lots: all of them, or with `as_of` only those
        due to activate or expire by then (enough to settle and to earn)."""
        query, params = OPEN_LOTS, {"b_member_id": member.member_id}
        if as_of is not None:
            query, params = DUE_LOTS, {**params, "as_of": as_of}
        loaded = [
            Lot(r.member_id, r.source_type, r.source_id, r.rule_id, r.earned, r.remaining,
                r.state, r.earned_at, r.pending_until, r.expires_at, lot_id=r.lot_id)
            for r in self.conn.execute(query, params)
        ]
        return Account(member.member_id, member.points_available, member.points_pending,
                       member.points_debt, member.points_lifetime, lots=loaded)

    def save(self, account: Account, recorded_at: datetime) -> None:
        """Persist new lots, changed lots and the new entries of `account`, in few statements."""
        if account.new_lots:
            rows = [
                {"member_id": lot.member_id, "source_type": lot.source_type,
                 "source_id": lot.source_id, "rule_id": lot.rule_id, "earned": lot.earned,
                 "remaining": lot.remaining, "state": lot.state, "earned_at": lot.earned_at,
                 "pending_until": lot.pending_until, "expires_at": lot.expires_at}
                for lot in account.new_lots
            ]
            ids = self.conn.execute(INSERT_LOTS, rows).scalars().all()
            for lot, lot_id in zip(account.new_lots, ids, strict=True):
                lot.lot_id = lot_id
                lot.changed = False
        changed = [lot for lot in account.lots if lot.changed and lot.lot_id is not None]
        if changed:
            self.conn.execute(UPDATE_LOT, [{"b_lot_id": lot.lot_id, "remaining": lot.remaining,
                                            "state": lot.state} for lot in changed])
            for lot in changed:
                lot.changed = False
        if account.entries:
            self.conn.execute(INSERT_ENTRIES,
                              [self._entry_row(account.member_id, e, recorded_at)
                               for e in account.entries])
        account.new_lots.clear()
        account.entries.clear()

    @staticmethod
    def _entry_row(member_id: str, entry: Entry, recorded_at: datetime) -> dict[str, Any]:
        return {
            "member_id": member_id, "kind": entry.kind, "bucket": entry.bucket,
            "points": entry.points, "lot_id": entry.lot.lot_id if entry.lot else None,
            "source_type": entry.source_type, "source_id": entry.source_id,
            "rule_id": entry.rule_id, "ruleset_version": entry.ruleset_version,
            "campaign": entry.campaign, "reason": entry.reason,
            "occurred_at": entry.occurred_at, "recorded_at": recorded_at, "actor": entry.actor,
        }

    def page(self, member_id: str, *, limit: int, cursor: int | None) -> Sequence[Row[Any]]:
        e = t.ledger_entries.c
        query = select(t.ledger_entries).where(e.member_id == member_id)
        if cursor is not None:
            query = query.where(e.entry_id < cursor)
        return self.conn.execute(query.order_by(e.entry_id.desc()).limit(limit)).all()

    def outlook(self, member_id: str, as_of: datetime, *, pending: int,
                expiries: int) -> tuple[list[tuple[int, datetime]], list[tuple[int, datetime]]]:
        """(points, instant) of the member's first `pending` instants pending lots become
        available at after `as_of`, and of their first `expiries` expiry instants after it,
        soonest first; in one statement (a limit of 0 leaves that half out)."""
        params = {"b_member_id": member_id, "as_of": as_of, "b_pending_limit": pending,
                  "b_expiry_limit": expiries}
        query = OUTLOOK if pending and expiries else PENDING_SCHEDULE if pending else EXPIRIES
        found: dict[str, list[tuple[int, datetime]]] = {"pending": [], "expiry": []}
        if pending or expiries:
            for row in self.conn.execute(query, params):
                found[row.kind].append((int(row.points), row.at))
        return (sorted(found["pending"], key=lambda pair: pair[1]),
                sorted(found["expiry"], key=lambda pair: pair[1]))

    def extend_expiry(self, member_id: str, expires_at: datetime) -> None:
        """Push every open lot of the member that expires sooner out to `expires_at`."""
        lots = t.point_lots.c
        self.conn.execute(
            update(t.point_lots)
            .where(lots.member_id == member_id, lots.remaining > 0, lots.expires_at < expires_at)
            .values(expires_at=expires_at)
        )

    def add_adjustment(self, values: dict[str, Any]) -> None:
        """Record a service desk's adjustment: its points, reason and who made it."""
        self.conn.execute(insert(t.adjustments).values(**values))

    def source_earned(self, source_id: str) -> int:
        e = t.ledger_entries.c
        return int(self.conn.execute(
            select(func.coalesce(func.sum(e.points), 0))
            .where(e.source_id == source_id, e.kind == "earn")
        ).scalar_one())


class HistoryRepository:
    """The order occurrences were recorded in, for replay."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def locate(self, source_id: str) -> tuple[str, int] | None:
        """The member a recorded occurrence belongs to, and its place in the history."""
        h = t.history.c
        row = self.conn.execute(select(h.member_id, h.seq).where(h.source_id == source_id)
                                .limit(1)).first()
        return None if row is None else (row.member_id, int(row.seq))

    def append(self, member_id: str, source_type: str, source_id: str,
               occurred_at: datetime) -> None:
        self.conn.execute(INSERT_HISTORY, {"member_id": member_id, "source_type": source_type,
                                           "source_id": source_id, "occurred_at": occurred_at})


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, scope: str, key: str) -> Row[Any] | None:
        return self.conn.execute(IDEMPOTENCY, {"b_scope": scope, "b_key": key}).first()

    def put(self, scope: str, key: str, *, member_id: str, fingerprint: str, status: int,
            response: dict[str, Any], created_at: datetime) -> None:
        self.conn.execute(INSERT_IDEMPOTENCY, {
            "scope": scope, "key": key, "member_id": member_id, "fingerprint": fingerprint,
            "status_code": status, "response": response, "created_at": created_at,
        })


class ProgrammeRepository:
    """Rule versions, keys, catalogue counters, and what rules grant: rewards, offers,
    privileges, tags, tiers, and limit usage (notifications: store/notifications.py)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # rule versions
    def latest_rule_version_number(self) -> int | None:
        value = self.conn.execute(select(func.max(t.rule_versions.c.version))).scalar()
        return None if value is None else int(value)

    def rule_version(self, version: int) -> Row[Any] | None:
        return self.conn.execute(
            select(t.rule_versions).where(t.rule_versions.c.version == version)
        ).first()

    def rule_versions(self) -> Sequence[Any]:
        """Every version without its files, newest first."""
        c = t.rule_versions.c
        return self.conn.execute(
            select(*(col for col in t.rule_versions.c if col.name != "files"))
            .order_by(c.version.desc())
        ).all()

    def rule_timeline(self) -> Sequence[Any]:
        """Each version's number and content hash, when it was activated and takes effect, and
        whether it was cancelled."""
        c = t.rule_versions.c
        return self.conn.execute(
            select(c.version, c.content_hash, c.activated_at, c.effective_at, c.cancelled_at)
            .order_by(c.version)).all()

    def lock_rule_versions(self) -> None:
        """Serialise activations: one new version number at a time (PostgreSQL; SQLite's
        writers already take turns)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("LOCK TABLE rule_versions IN EXCLUSIVE MODE"))

    def cancel_rule_version(self, version: int, at: datetime, by: str) -> int:
        c = t.rule_versions.c
        return self.conn.execute(
            update(t.rule_versions).where(c.version == version, c.cancelled_at.is_(None))
            .values(cancelled_at=at, cancelled_by=by)).rowcount

    def rule_versions_with_files(self) -> Sequence[Any]:
        return self.conn.execute(
            select(t.rule_versions).order_by(t.rule_versions.c.version)).all()

    def add_rule_version(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.rule_versions).values(**values))

    # api keys
    def add_key(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.api_keys).values(**values))

    def key(self, key_id: str) -> Row[Any] | None:
        return self.conn.execute(select(t.api_keys).where(t.api_keys.c.key_id == key_id)).first()

    def api_keys(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(t.api_keys).order_by(t.api_keys.c.created_at)).all()

    def revoke_key(self, key_id: str, at: datetime) -> int:
        return self.conn.execute(
            update(t.api_keys).where(t.api_keys.c.key_id == key_id,
                                     t.api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        ).rowcount

    # catalogue
    def redeemed_counts(self) -> dict[str, int]:
        return {r.reward_id: int(r.redeemed) for r in self.conn.execute(select(t.reward_counters))}

    def lock_reward_counter(self, reward_id: str) -> int:
        """The number redeemed so far, with the counter row locked until commit."""
        c = t.reward_counters.c
        query = select(c.redeemed).where(c.reward_id == reward_id)
        if self.conn.dialect.name != "sqlite":
            query = query.with_for_update()
        value = self.conn.execute(query).scalar()
        if value is None:
            self.conn.execute(insert(t.reward_counters).values(reward_id=reward_id, redeemed=0))
            return 0
        return int(value)

    def add_redeemed(self, reward_id: str, quantity: int) -> None:
        c = t.reward_counters.c
        self.conn.execute(update(t.reward_counters).where(c.reward_id == reward_id)
                          .values(redeemed=c.redeemed + quantity))

    # grants
    def add_member_rewards(self, rows: Iterable[dict[str, Any]]) -> None:
        rows = list(rows)
        if rows:
            self.conn.execute(insert(t.member_rewards), rows)

    def add_offers(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(t.offers), rows)

    def open_offers(self, member_id: str, as_of: datetime) -> Sequence[Row[Any]]:
        o = t.offers.c
        return self.conn.execute(
            select(t.offers).where(o.member_id == member_id, o.status == "open",
                                   o.valid_until > as_of).order_by(o.id)
        ).all()

    def use_offer(self, offer_pk: int, at: datetime, transaction_id: str) -> None:
        self.conn.execute(update(t.offers).where(t.offers.c.id == offer_pk)
                          .values(status="used", used_at=at, used_transaction_id=transaction_id))

    def add_privileges(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(t.privileges), rows)

    def revoke_privilege(self, member_id: str, privilege: str, at: datetime) -> int:
        """Withdraw a privilege the member holds; how many grants it ended (0: none held)."""
        p = t.privileges.c
        return self.conn.execute(update(t.privileges).where(
            p.member_id == member_id, p.privilege == privilege, p.revoked_at.is_(None)
        ).values(revoked_at=at)).rowcount or 0

    def active_privileges(self, member_id: str, as_of: datetime) -> Sequence[Any]:
        return self.conn.execute(ACTIVE_PRIVILEGES,
                                 {"b_member_id": member_id, "as_of": as_of}).all()

    def member_rewards(self, member_id: str, as_of: datetime) -> Sequence[Row[Any]]:
        """The rewards the member holds: valid at `as_of`, neither used nor revoked."""
        r = t.member_rewards.c
        return self.conn.execute(
            select(t.member_rewards).where(
                r.member_id == member_id, r.status == "held",
                or_(r.valid_until.is_(None), r.valid_until > as_of)
            ).order_by(r.id)
        ).all()

    def vouchers(self, codes: Sequence[str]) -> Sequence[Row[Any]]:
        """The rewards (any member's) with these voucher codes, locked until commit."""
        r = t.member_rewards.c
        query = select(t.member_rewards).where(r.voucher_code.in_(list(codes))).order_by(r.id)
        if self.conn.dialect.name != "sqlite":
            query = query.with_for_update()
        return self.conn.execute(query).all()

    def purchase_rewards(self, transaction_id: str) -> Sequence[Row[Any]]:
        """The rewards the rules granted for a purchase, locked until commit."""
        r = t.member_rewards.c
        query = select(t.member_rewards).where(
            r.source_id == transaction_id, r.source_type == "transaction").order_by(r.id)
        if self.conn.dialect.name != "sqlite":
            query = query.with_for_update()
        return self.conn.execute(query).all()

    def use_reward(self, reward_pk: int, at: datetime, transaction_id: str) -> None:
        r = t.member_rewards.c
        self.conn.execute(update(t.member_rewards).where(r.id == reward_pk, r.status == "held")
                          .values(status="used", used_at=at,
                                  used_transaction_id=transaction_id))

    def take_back_reward(self, reward_pk: int, outcome: str, at: datetime,
                         return_id: str) -> None:
        """A return takes back a reward: `revoked` when it was held, `kept` (noted) when it
        was used already."""
        r = t.member_rewards.c
        row = update(t.member_rewards).where(r.id == reward_pk)
        if outcome == "revoked":
            self.conn.execute(row.where(r.status == "held").values(
                status="revoked", revoked_at=at, revoked_by=return_id))
        else:
            self.conn.execute(row.values(kept_at=at, kept_by=return_id))

    def returned_rewards(self) -> Sequence[Row[Any]]:
        """Rewards whose purchase was returned: revoked, or kept because already used."""
        r = t.member_rewards.c
        return self.conn.execute(
            select(t.member_rewards).where(or_(r.revoked_by.is_not(None), r.kept_by.is_not(None)))
            .order_by(func.coalesce(r.revoked_at, r.kept_at), r.id)
        ).all()

    def add_tier_change(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.tier_history).values(**values))

    def tier_changes(self, member_id: str) -> Sequence[Row[Any]]:
        h = t.tier_history.c
        return self.conn.execute(select(t.tier_history).where(h.member_id == member_id)
                                 .order_by(h.changed_at.desc(), h.id.desc())).all()

    # limits
    def usage(self, member_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Times each (rule_id, period_key) has applied to the member."""
        if not keys:
            return {}
        rows = self.conn.execute(USAGE, {"b_member_id": member_id,
                                         "rules": sorted({k[0] for k in keys})}).all()
        return {(r.rule_id, r.period_key): int(r.times) for r in rows}

    def add_usage(self, member_id: str, rule_id: str, period_key: str, points: int,
                  existing: bool) -> None:
        u = t.rule_usage.c
        if existing:
            self.conn.execute(update(t.rule_usage).where(
                u.member_id == member_id, u.rule_id == rule_id, u.period_key == period_key
            ).values(times=u.times + 1, points=u.points + points))
        else:
            self.conn.execute(insert(t.rule_usage).values(
                member_id=member_id, rule_id=rule_id, period_key=period_key, times=1,
                points=points))

    def lock_budget(self, rule_id: str) -> int:
        """Points a budgeted rule has given so far, locked until commit."""
        b = t.rule_budgets.c
        query = select(b.points_used).where(b.rule_id == rule_id)
        if self.conn.dialect.name != "sqlite":
            query = query.with_for_update()
        value = self.conn.execute(query).scalar()
        if value is None:
            self.conn.execute(insert(t.rule_budgets).values(rule_id=rule_id, points_used=0))
            return 0
        return int(value)

    def spend_budget(self, rule_id: str, points: int) -> None:
        b = t.rule_budgets.c
        self.conn.execute(update(t.rule_budgets).where(b.rule_id == rule_id)
                          .values(points_used=b.points_used + points))


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class WorkflowRepository:
    """Rule drafts and the audit log (append-only: there is no update or delete for it)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_draft(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.rule_drafts).values(**values))

    def draft(self, draft_id: str, *, for_update: bool = False) -> Row[Any] | None:
        query = select(t.rule_drafts).where(t.rule_drafts.c.draft_id == draft_id)
        if for_update and self.conn.dialect.name != "sqlite":
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def drafts(self, status: str | None = None) -> Sequence[Row[Any]]:
        c = t.rule_drafts.c
        query = select(*(col for col in c if col.name != "files")).order_by(
            c.updated_at.desc(), c.draft_id)
        if status is not None:
            query = query.where(c.status == status)
        return self.conn.execute(query).all()

    def approved_draft_with(self, content_hash: str) -> Row[Any] | None:
        c = t.rule_drafts.c
        return self.conn.execute(
            select(t.rule_drafts).where(c.content_hash == content_hash, c.status == "approved")
            .order_by(c.decided_at.desc())).first()

    def update_draft(self, draft_id: str, **values: Any) -> None:
        self.conn.execute(update(t.rule_drafts).where(t.rule_drafts.c.draft_id == draft_id)
                          .values(**values))

    def add_audit(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(t.audit_log).values(**values))

    def audit(self, *, actions: Sequence[str] | None = None, actor: str | None = None,
              subject: str | None = None, since: datetime | None = None,
              until: datetime | None = None, before_id: int | None = None,
              limit: int = 50) -> Sequence[Row[Any]]:
        """Audit records newest first, filtered; `before_id` pages on."""
        c = t.audit_log.c
        query = select(t.audit_log).order_by(c.id.desc()).limit(limit)
        if actions is not None:
            query = query.where(c.action.in_(list(actions)))
        if actor is not None:
            query = query.where(c.actor == actor)
        if subject is not None:
            query = query.where(c.subject == subject)
        if since is not None:
            query = query.where(c.at >= since)
        if until is not None:
            query = query.where(c.at <= until)
        if before_id is not None:
            query = query.where(c.id < before_id)
        return self.conn.execute(query).all()
