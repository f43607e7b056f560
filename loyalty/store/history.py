"""Reading the recorded history back, in recorded order and in chunks (memory stays flat), as
the occurrences the decision path replays."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, func, select, union_all

from loyalty.domain.ledger import ADJUSTMENT_RULE
from loyalty.domain.model import Line, Member, Occurrence
from loyalty.store import tables as t
from loyalty.store.member_value import as_of as value_as_of
from loyalty.store.member_value import values_at

CHUNK = 2000
#: voucher codes looked up per statement
CODES_PER_QUERY = 1000


def replay_voucher(source_type: str, source_id: str, reward_id: str, ordinal: int) -> str:
    """The voucher code a replay gives a reward: the `ordinal`-th (from 0) of `reward_id` its
    source granted; a recorded voucher is presented under it again (`replay_codes`)."""
    return f"{source_type}:{source_id}:{reward_id}:{ordinal}"


def replay_codes(conn: Any, codes: Sequence[str]) -> dict[str, str]:
    """The replay's code (`replay_voucher`) of each recorded voucher code found."""
    r = t.member_rewards.c
    found = []
    unique = sorted(set(codes))
    for start in range(0, len(unique), CODES_PER_QUERY):
        found += conn.execute(select(r.id, r.voucher_code, r.source_type, r.source_id,
                                     r.reward_id)
                              .where(r.voucher_code.in_(unique[start:start + CODES_PER_QUERY]))
                              ).all()
    sources = sorted({row.source_id for row in found})
    ordinal: dict[int, int] = {}
    counted: dict[tuple[str, str, str], int] = defaultdict(int)
    for start in range(0, len(sources), CODES_PER_QUERY):
        rows = conn.execute(select(r.id, r.source_type, r.source_id, r.reward_id)
                            .where(r.source_id.in_(sources[start:start + CODES_PER_QUERY]))
                            .order_by(r.id))
        for row in rows:
            identity = (row.source_type, row.source_id, row.reward_id)
            ordinal[row.id] = counted[identity]
            counted[identity] += 1
    return {row.voucher_code: replay_voucher(row.source_type, row.source_id, row.reward_id,
                                             ordinal[row.id]) for row in found}


@dataclass
class HistoryItem:
    """One recorded purchase, return, event, redemption or adjustment, with what replaying it
    needs and what was recorded for it."""

    seq: int
    member_id: str
    source_type: str
    source_id: str
    occurred_at: datetime
    kind: str
    version: str | None
    occurrence: Occurrence
    profile_row: Any
    origin: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    original_id: str | None = None
    reward_id: str | None = None
    quantity: int = 0
    #: an adjustment's points (negative: removed), its reason and who made it
    points: int = 0
    reason: str | None = None
    actor: str | None = None
    #: what was recorded: points by rule (earned, clawed back, spent), for the replay check
    recorded: dict[str, int] = field(default_factory=dict)
    #: a purchase recorded before its payment methods and offer codes were kept
    legacy: bool = False
    #: the member's value as the sweeps had recorded it by then (value_segment, clv,
    #: potential_value); empty when not valued yet
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def profile(self) -> Member:
        row = self.profile_row
        return Member(
            member_id=row.member_id, name=row.name, birth_date=row.birth_date,
            gender=row.gender, region=row.region, enrolled_at=row.enrolled_at,
            channel=row.channel, attributes=dict(row.attributes or {}),
        )


@dataclass(frozen=True)
class HistoryFilter:
    """Which members to read: all, one, or shard `index` of `count` (by bucket)."""

    member_id: str | None = None
    shard_index: int = 1
    shard_count: int = 1

    def where(self, member_id: Any) -> Any:
        """A predicate on a joined `members` table and a column naming the member."""
        m = t.members.c
        conditions = []
        if self.member_id is not None:
            conditions.append(member_id == self.member_id)
        if self.shard_count > 1:
            conditions.append(m.bucket % self.shard_count == self.shard_index - 1)
        return and_(True, *conditions)


class HistoryReader:
    """Streams the history of the members `which` selects, oldest recording first."""

    def __init__(self, engine: Engine, which: HistoryFilter | None = None, *,
                 with_recorded: bool = False, chunk: int = CHUNK) -> None:
        self.engine = engine
        self.which = which or HistoryFilter()
        self.with_recorded = with_recorded
        self.chunk = chunk

    def count(self, *, until: datetime | None = None) -> int:
        h = t.history.c
        query = (select(func.count()).select_from(t.history.join(t.members,
                                                                  t.members.c.member_id
                                                                  == h.member_id))
                 .where(self.which.where(h.member_id)))
        if until is not None:
            query = query.where(h.occurred_at <= until)
        with self.engine.connect().execution_options(read_only=True) as conn:
            return int(conn.execute(query).scalar_one())

    def returned_purchases(self) -> set[str]:
        """Purchases some return names: the only ones a replay must keep."""
        tx = t.transactions.c
        query = (select(tx.original_transaction_id).distinct()
                 .select_from(t.transactions.join(t.members,
                                                  t.members.c.member_id == tx.member_id))
                 .where(tx.type == "return", self.which.where(tx.member_id)))
        with self.engine.connect().execution_options(read_only=True) as conn:
            return {row[0] for row in conn.execute(query)}

    def presented_vouchers(self) -> set[str]:
        """The vouchers some purchase presented, by their replay code: the only rewards a
        replay must keep for a purchase (with those of purchases a return names)."""
        tx = t.transactions.c
        query = (select(tx.vouchers)
                 .select_from(t.transactions.join(t.members,
                                                  t.members.c.member_id == tx.member_id))
                 .where(tx.type == "purchase", tx.vouchers.is_not(None),
                        self.which.where(tx.member_id)))
        with self.engine.connect().execution_options(read_only=True) as conn:
            codes = [code for row in conn.execute(query) for code in row[0] or ()]
            return set(replay_codes(conn, codes).values()) if codes else set()

    def items(self, *, after_seq: int = 0,
              until_seq: int | None = None) -> Iterator[HistoryItem]:
        last = after_seq
        while True:
            with self.engine.connect().execution_options(read_only=True) as conn:
                rows = conn.execute(self._query(last, until_seq)).all()
                if not rows:
                    return
                tx_ids = [r.source_id for r in rows if r.source_type == "transaction"]
                lines = self._lines(conn, tx_ids)
                recorded = self._recorded(conn, rows) if self.with_recorded else {}
                presented = [code for r in rows if r.source_type == "transaction"
                             for code in r.vouchers or ()]
                codes = replay_codes(conn, presented) if presented else {}
                valued = values_at(conn, {r.member_id for r in rows},
                                   max(r.occurred_at for r in rows))
            for row in rows:
                item = self._item(row, lines.get(row.source_id, ()), recorded, codes)
                item.values = value_as_of(valued.get(row.member_id, ()), row.occurred_at)
                yield item
            last = rows[-1].seq

    def _query(self, after: int, until_seq: int | None) -> Any:
        h, tx, ev, mr, m = (t.history.c, t.transactions.c, t.events.c, t.member_rewards.c,
                            t.members.c)
        ad = t.adjustments.c
        tr = t.transfers.c
        joined = (
            t.history.join(t.members, m.member_id == h.member_id)
            .outerjoin(t.transactions, and_(h.source_type == "transaction",
                                            tx.transaction_id == h.source_id))
            .outerjoin(t.events, and_(h.source_type == "event", ev.event_id == h.source_id))
            .outerjoin(t.member_rewards, and_(h.source_type == "redemption",
                                              mr.source_type == "redemption",
                                              mr.source_id == h.source_id))
            .outerjoin(t.adjustments, and_(h.source_type == "adjustment",
                                           ad.adjustment_id == h.source_id))
            .outerjoin(t.transfers, and_(h.source_type == "transfer",
                                         tr.transfer_id == h.source_id))
        )
        query = (
            select(
                h.seq, h.member_id, h.source_type, h.source_id, h.occurred_at,
                tx.type.label("tx_type"), tx.store_id, tx.channel.label("tx_channel"),
                tx.currency, tx.total, tx.original_transaction_id,
                tx.ruleset_version.label("tx_version"), tx.payment_methods, tx.offer_codes,
                tx.points_clawed_back, tx.vouchers,
                ev.type.label("ev_type"), ev.attributes.label("ev_attributes"), ev.origin,
                ev.ruleset_version.label("ev_version"),
                mr.reward_id, mr.quantity, mr.points_spent,
                mr.ruleset_version.label("mr_version"),
                ad.points.label("adj_points"), ad.reason.label("adj_reason"),
                ad.actor.label("adj_actor"),
                tr.from_member_id, tr.to_member_id, tr.points.label("tr_points"),
                tr.lots.label("tr_lots"), tr.reason.label("tr_reason"),
                tr.actor.label("tr_actor"),
                m.name, m.birth_date, m.gender, m.region, m.enrolled_at,
                m.channel, m.attributes,
            )
            .select_from(joined)
            .where(h.seq > after, self.which.where(h.member_id))
            .order_by(h.seq)
            .limit(self.chunk)
        )
        if until_seq is not None:
            query = query.where(h.seq <= until_seq)
        return query

    @staticmethod
    def _lines(conn: Any, tx_ids: list[str]) -> dict[str, list[Line]]:
        found: dict[str, list[Line]] = defaultdict(list)
        if not tx_ids:
            return found
        x = t.transaction_lines.c
        rows = conn.execute(select(x.transaction_id, x.sku, x.category, x.quantity, x.unit_price)
                            .where(x.transaction_id.in_(tx_ids))
                            .order_by(x.transaction_id, x.line_no))
        for r in rows:
            found[r.transaction_id].append(Line(r.sku, r.category, r.quantity, r.unit_price))
        return found

    @staticmethod
    def _recorded(conn: Any, rows: Sequence[Any]) -> dict[str, dict[str, int]]:
        """Points earned by rule, per source id, for the chunk's occurrences and the reactions
        a purchase causes (`T#tier`, `T#lifecycle`), or an event a tier metric sums (`E#tier`)."""
        ids = []
        for r in rows:
            ids.append(r.source_id)
            if r.source_type == "transaction":
                ids.extend((f"{r.source_id}#tier", f"{r.source_id}#lifecycle"))
            elif r.source_type == "event":
                ids.append(f"{r.source_id}#tier")
        e = t.ledger_entries.c
        found: dict[str, dict[str, int]] = defaultdict(dict)
        query = (select(e.source_id, e.rule_id, func.sum(e.points))
                 .where(e.source_id.in_(ids), e.kind == "earn")
                 .group_by(e.source_id, e.rule_id))
        for source_id, rule_id, points in conn.execute(query):
            owner = source_id.split("#", 1)[0]
            key = str(rule_id)
            found[owner][key] = found[owner].get(key, 0) + int(points)
        return found

    @staticmethod
    def _item(row: Any, lines: Any, recorded: dict[str, dict[str, int]],
              codes: dict[str, str]) -> HistoryItem:
        at = row.occurred_at
        common: dict[str, Any] = {
            "seq": row.seq, "member_id": row.member_id, "source_type": row.source_type,
            "source_id": row.source_id, "occurred_at": at, "profile_row": row,
        }
        points = dict(recorded.get(row.source_id, {}))
        if row.source_type == "transaction":
            kind = row.tx_type
            lines = tuple(lines)
            if kind == "purchase":
                occurrence = Occurrence(
                    kind="purchase", source_id=row.source_id, occurred_at=at,
                    total=sum((x.amount for x in lines), start=Decimal("0")), lines=lines,
                    store_id=row.store_id, channel=row.tx_channel, currency=row.currency,
                    payment_methods=tuple(row.payment_methods or ()),
                    offer_codes=tuple(row.offer_codes or ()),
                    vouchers=tuple(codes.get(code, code) for code in row.vouchers or ()))
            else:
                occurrence = Occurrence(kind="return", source_id=row.source_id,
                                        occurred_at=at, lines=lines, store_id=row.store_id,
                                        channel=row.tx_channel, currency=row.currency)
                if row.points_clawed_back:
                    points["points.clawback"] = -int(row.points_clawed_back)
            return HistoryItem(**common, kind=kind, version=row.tx_version,
                               occurrence=occurrence, original_id=row.original_transaction_id,
                               recorded=points,
                               legacy=kind == "purchase" and row.payment_methods is None)
        if row.source_type == "event":
            attributes = dict(row.ev_attributes or {})
            occurrence = Occurrence(kind=row.ev_type, source_id=row.source_id, occurred_at=at,
                                    attributes=attributes)
            return HistoryItem(**common, kind=row.ev_type, version=row.ev_version,
                               occurrence=occurrence, origin=row.origin,
                               attributes=attributes, recorded=points)
        if row.source_type == "transfer":
            giving = row.member_id == row.from_member_id
            kind = "transfer_out" if giving else "transfer_in"
            return HistoryItem(**common, kind=kind, version=None,
                               occurrence=Occurrence(kind=kind, source_id=row.source_id,
                                                     occurred_at=at),
                               points=int(row.tr_points or 0), reason=row.tr_reason,
                               actor=row.tr_actor,
                               attributes={"lots": list(row.tr_lots or ()),
                                           "other": row.to_member_id if giving
                                           else row.from_member_id})
        if row.source_type == "adjustment":
            adjusted = int(row.adj_points or 0)
            return HistoryItem(**common, kind="adjustment", version=None,
                               occurrence=Occurrence(kind="adjustment", source_id=row.source_id,
                                                     occurred_at=at),
                               points=adjusted, reason=row.adj_reason, actor=row.adj_actor,
                               recorded={ADJUSTMENT_RULE: adjusted})
        if row.points_spent:
            points[f"rewards.{row.reward_id}"] = -int(row.points_spent)
        return HistoryItem(**common, kind="redemption", version=row.mr_version,
                           occurrence=Occurrence(kind="redemption", source_id=row.source_id,
                                                 occurred_at=at),
                           reward_id=row.reward_id, quantity=int(row.quantity or 0),
                           recorded=points)


class SharedCounters:
    """What all members had spent of a budget, or taken of a reward's stock, before any instant:
    budgets from the points earned under the campaign (or the rule without one), stock from the
    rewards granted and redeemed. Each counter is read once, when first asked for."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._spent: dict[str, tuple[list[datetime], list[int]]] = {}
        self._taken: dict[str, tuple[list[datetime], list[int]]] = {}

    def budget(self, key: str, before: datetime) -> int:
        if key not in self._spent:
            e = t.ledger_entries.c
            whose = (e.campaign == key.removeprefix("campaign:") if key.startswith("campaign:")
                     else and_(e.rule_id == key, e.campaign.is_(None)))
            self._spent[key] = self._running(select(e.occurred_at, e.points)
                                             .where(e.kind == "earn", whose)
                                             .order_by(e.occurred_at))
        return self._before(self._spent[key], before)

    def stock(self, reward_id: str, before: datetime) -> int:
        if reward_id not in self._taken:
            r = t.member_rewards.c
            given = select(r.granted_at.label("at"), r.quantity.label("n")).where(
                r.reward_id == reward_id)
            revoked = select(r.revoked_at.label("at"), (-r.quantity).label("n")).where(
                r.reward_id == reward_id, r.revoked_at.is_not(None))  # its stock came back
            moves = union_all(given, revoked).subquery()
            self._taken[reward_id] = self._running(select(moves.c.at, moves.c.n)
                                                   .order_by(moves.c.at))
        return self._before(self._taken[reward_id], before)

    def _running(self, query: Any) -> tuple[list[datetime], list[int]]:
        instants: list[datetime] = []
        totals: list[int] = []
        total = 0
        with self.engine.connect().execution_options(read_only=True) as conn:
            for at, amount in conn.execute(query):
                total += int(amount)
                instants.append(at)
                totals.append(total)
        return instants, totals

    @staticmethod
    def _before(running: tuple[list[datetime], list[int]], before: datetime) -> int:
        instants, totals = running
        count = bisect_left(instants, before)
        return totals[count - 1] if count else 0
