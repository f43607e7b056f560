"""Replaying recorded history through the decision path, in memory, writing nothing.

The history (`store.history`) lists every purchase, return, event, redemption and adjustment in
the order it was recorded. Replaying it member by member through `decide.process` (and
`decide_redemption`, `decide_adjustment`) with the rules that were in force reproduces what was
recorded; replaying it with other rules shows what they would have done. `MemoryState` is the
decision path's `State` held in memory: the member, their open lots, their recent transactions
(for the statistics rules test), their events and purchase lines (for the history rules test),
limit usage, budgets, stock and open offers.

What the sweep did is replayed as recorded: its tier, lifecycle and VIP moves are applied as
it applied them and its events are decided again; each occurrence sees the member's value
(segment, clv, potential value) as the sweeps had recorded it by then; expiry needs no replay
(settling a member's lots at each occurrence expires what is due).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from loyalty.domain.attributes import RAISED_EVENTS
from loyalty.domain.decisions import RuleBook
from loyalty.domain.errors import LoyaltyError
from loyalty.domain.history import EventHistory, HeldLine, Holding, event_history, holdings
from loyalty.domain.ledger import Account
from loyalty.domain.metrics import MetricLog
from loyalty.domain.model import Member, MemberStats
from loyalty.domain.policy import MetricDef
from loyalty.domain.referrals import Contacts
from loyalty.domain.vouchers import REVOKED, USED, HeldReward
from loyalty.services.decide import (
    Changes,
    HeldOffer,
    Holder,
    RecordedPurchase,
    SoldLine,
    decide_adjustment,
    decide_redemption,
    process,
)
from loyalty.services.decide_transfer import (
    decide_transfer_in,
    decide_transfer_out,
    pieces_from,
)
from loyalty.store.history import HistoryItem, HistoryReader, SharedCounters, replay_voucher

#: Transactions older than this before the newest one seen are no longer in any statistic.
WINDOW = timedelta(days=366)


def replay_code() -> str:
    return "REPLAY"


@dataclass(slots=True)
class Recent:
    occurred_at: datetime
    total: Decimal
    purchase: bool
    points: int


@dataclass
class MemberMemory:
    holder: Holder
    account: Account
    recent: list[Recent] = field(default_factory=list)
    usage: dict[tuple[str, str], int] = field(default_factory=dict)
    offers: list[HeldOffer] = field(default_factory=list)
    offer_until: dict[Any, datetime] = field(default_factory=dict)
    #: when each type of event (and return) was recorded, for `events.<type>.*`
    event_times: dict[str, list[datetime]] = field(default_factory=dict)
    #: every purchase line and return line, for `products.*`
    held: list[HeldLine] = field(default_factory=list)
    #: what declared metrics count (`stats.<metric>_*`, tiers and VIP by them)
    metrics: MetricLog = field(default_factory=MetricLog)


class MemoryState:
    """The decision path's `State` in memory: what a replay decides against and records into."""

    def __init__(self, returned: set[str] | None = None,
                 shared: SharedCounters | None = None,
                 presented: set[str] | None = None) -> None:
        self.members: dict[str, MemberMemory] = {}
        #: with `shared`, budgets and stock are all members' as recorded, as of `as_of`
        self.shared = shared
        self.as_of: datetime | None = None
        self.budgets: dict[str, int] = defaultdict(int)
        self.stock: dict[str, int] = defaultdict(int)
        #: purchases a later return needs (None: keep every purchase)
        self.returned = returned
        self.purchases: dict[str, RecordedPurchase] = {}
        #: rewards granted, by the voucher code a replay gives them (`replay_voucher`): those
        #: a later purchase presents (`presented`; None: all) or a return may take back
        self.presented = presented
        self.rewards: dict[str, HeldReward] = {}
        self.rewards_of: dict[str, list[str]] = defaultdict(list)
        self._granted: dict[tuple[str, str, str], int] = defaultdict(int)
        #: the groups of rules with a holdout, as replayed: kept here, never written
        self.experiments: list[dict[str, Any]] = []
        self._ids = 0

    def fork(self) -> MemoryState:
        return copy.deepcopy(self)

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    # the member
    def enrol(self, profile: Member, tags: tuple[str, ...], tier: str) -> MemberMemory:
        member = replace(profile, tier=tier, vip=False, lifecycle_stage="new", tags=tags)
        memory = MemberMemory(Holder(member), Account(profile.member_id, 0, 0, 0, 0))
        self.members[profile.member_id] = memory
        return memory

    def member(self, member_id: str) -> Holder | None:
        memory = self.members.get(member_id)
        return None if memory is None else memory.holder

    def account(self, member: Holder, *, as_of: datetime | None) -> Account:
        return self.members[member.member_id].account

    # referrals: a replay raises none; the `referral_qualified` events recorded are in the
    # referrers' own history, and are decided again there
    def referrer_of(self, friend: Holder) -> str | None:
        return None

    def referring(self, member_id: str) -> Holder | None:
        return None

    def contacts(self, member_id: str) -> Contacts:
        return Contacts()

    def stats(self, member: Holder, as_of: datetime) -> MemberStats:
        memory = self.members[member.member_id]
        since = {days: as_of - timedelta(days=days) for days in (30, 90, 365)}
        spend = dict.fromkeys((30, 90, 365), Decimal("0"))
        visits = dict.fromkeys((30, 90, 365), 0)
        points = 0
        for item in memory.recent:
            if item.occurred_at > as_of or item.occurred_at < since[365]:
                continue
            points += item.points
            for days in (30, 90, 365):
                if item.occurred_at >= since[days]:
                    spend[days] += item.total
                    visits[days] += 1 if item.purchase else 0
        last = member.last_purchase_at
        account = memory.account
        return MemberStats(
            spend_30d=spend[30], spend_90d=spend[90], spend_365d=spend[365],
            visits_30d=visits[30], visits_90d=visits[90], visits_365d=visits[365],
            lifetime_spend=member.lifetime_spend, lifetime_visits=member.lifetime_visits,
            days_since_last_purchase=None if last is None else max(0, (as_of - last).days),
            categories_bought=member.categories, points_available=account.available,
            points_lifetime=account.lifetime, points_365d=points,
        )

    def event_history(self, member: Holder, as_of: datetime,
                      types: frozenset[str]) -> Mapping[str, EventHistory]:
        times = self.members[member.member_id].event_times
        return {kind: event_history(times.get(kind, ()), as_of) for kind in types}

    def holdings(self, member: Holder, as_of: datetime) -> tuple[Holding, ...]:
        return holdings(self.members[member.member_id].held, as_of)

    def metric_figures(self, member: Holder, as_of: datetime,
                       metrics: Sequence[MetricDef]) -> dict[str, Decimal]:
        return self.members[member.member_id].metrics.figures(metrics, as_of)

    # counters
    def usage(self, member_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        usage = self.members[member_id].usage
        return {key: usage[key] for key in keys if key in usage}

    def budget_spent(self, key: str) -> int:
        if self.shared is not None and self.as_of is not None:
            return self.shared.budget(key, self.as_of)
        return self.budgets[key]

    def stock_used(self, reward_id: str) -> int:
        if self.shared is not None and self.as_of is not None:
            return self.shared.stock(reward_id, self.as_of)
        return self.stock[reward_id]

    def open_offers(self, member_id: str, as_of: datetime) -> list[HeldOffer]:
        memory = self.members[member_id]
        return [o for o in memory.offers if memory.offer_until[o.key] > as_of]

    def purchase(self, transaction_id: str) -> RecordedPurchase | None:
        return self.purchases.get(transaction_id)

    def vouchers(self, codes: Sequence[str]) -> dict[str, HeldReward]:
        return {code: self.rewards[code] for code in codes if code in self.rewards}

    def granted_rewards(self, transaction_id: str) -> list[HeldReward]:
        return [self.rewards[code] for code in self.rewards_of.get(transaction_id, ())]

    # recording
    def record(self, changes: Changes, recorded_at: datetime) -> None:
        memory = self.members[changes.member_id]
        holder, account = memory.holder, changes.account
        for lot in account.new_lots:
            lot.lot_id = self._next_id()
        account.new_lots.clear()
        account.entries.clear()
        account.lots = [lot for lot in account.lots if lot.remaining > 0]
        if changes.extend_expiry is not None:
            for lot in account.lots:
                if lot.expires_at is not None and lot.expires_at < changes.extend_expiry:
                    lot.expires_at = changes.extend_expiry
        for rule_id, key, _, _ in changes.usage:
            memory.usage[(rule_id, key)] = memory.usage.get((rule_id, key), 0) + 1
        for key, points in changes.budgets.items():
            self.budgets[key] += points
        for reward_id, quantity in changes.stock.items():
            self.stock[reward_id] += quantity
        used = set(changes.offers_used)
        if used:
            memory.offers = [o for o in memory.offers if o.key not in used]
        for row in changes.offers:
            offer_key = self._next_id()
            memory.offers.append(HeldOffer(
                offer_key, row["offer_code"], row["benefit"], row["value"], row["description"],
                row["rule_id"], row["ruleset_version"], row["campaign"]))
            memory.offer_until[offer_key] = row["valid_until"]
        self.experiments.extend(changes.experiments)
        self._rewards(changes)
        self._member_changes(holder, changes.member)
        if changes.event is not None:
            event = changes.event
            memory.event_times.setdefault(event["type"], []).append(event["occurred_at"])
        self._count_for_metrics(memory, changes)
        tx = changes.transaction
        if tx is not None:
            self._transaction(memory, changes, tx)

    def _count_for_metrics(self, memory: MemberMemory, changes: Changes) -> None:
        """Keep what declared metrics count: purchase lines, returns (before the purchase
        they return is updated) and the events of tills."""
        log, tx, event = memory.metrics, changes.transaction, changes.event
        if event is not None and event["type"] not in RAISED_EVENTS:
            log.event(event["type"], event["occurred_at"], event["attributes"])
        if tx is None:
            return
        lines = [(x["sku"], x["category"], x["quantity"]) for x in changes.lines]
        if tx["type"] == "purchase":
            log.purchase(tx["transaction_id"], tx["occurred_at"], lines)
        elif changes.returned is not None:
            original_id = changes.returned[0]
            original = self.purchases.get(original_id)
            held = () if original is None else tuple(
                (x.sku, x.category, x.quantity - x.returned_quantity) for x in original.lines)
            log.returned(original_id, tx["occurred_at"], lines, held)

    def _rewards(self, changes: Changes) -> None:
        """Rewards granted (under the code a replay gives them), used and taken back."""
        source_id = changes.occurrence.source_id
        for row in changes.rewards:
            identity = (row["source_type"], row["source_id"], row["reward_id"])
            code = replay_voucher(*identity, self._granted[identity])
            self._granted[identity] += 1
            if not (self.presented is None or self.returned is None
                    or code in self.presented or row["source_id"] in self.returned):
                continue
            lines = row.get("source_lines")
            self.rewards[code] = HeldReward(
                code, code, row["member_id"], row["reward_id"], row["quantity"],
                row["source_type"], row["source_id"], row["granted_at"], row["valid_until"],
                row["rule_id"], row["campaign"],
                source_lines=None if lines is None else tuple(lines))
            if row["source_type"] == "transaction":
                self.rewards_of[row["source_id"]].append(code)
        for code in changes.vouchers_used:
            self.rewards[code] = replace(self.rewards[code], status=USED, used_by=source_id)
        for code, outcome in changes.rewards_back:
            reward = self.rewards[code]
            self.rewards[code] = (replace(reward, status=REVOKED, revoked_by=source_id)
                                  if outcome == "revoked" else replace(reward, kept_by=source_id))

    @staticmethod
    def _member_changes(holder: Holder, values: dict[str, Any]) -> None:
        profile = holder.profile
        for name, value in values.items():
            if name == "tier":
                profile.tier = value
            elif name == "tags":
                profile.tags = tuple(value)
            elif name == "lifecycle_stage":
                profile.lifecycle_stage = value
            elif name == "lifetime_spend":
                holder.lifetime_spend = value
            elif name == "lifetime_visits":
                holder.lifetime_visits = value
            elif name == "categories":
                holder.categories = tuple(value)
            elif name == "last_purchase_at":
                holder.last_purchase_at = value

    def _transaction(self, memory: MemberMemory, changes: Changes, tx: dict[str, Any]) -> None:
        at: datetime = tx["occurred_at"]
        purchase_id = tx["transaction_id"] if tx["type"] == "purchase" else tx[
            "original_transaction_id"]
        sign = 1 if tx["type"] == "purchase" else -1
        memory.held.extend(HeldLine(purchase_id, x["sku"], x["category"], at, sign * x["quantity"])
                           for x in changes.lines)
        if tx["type"] == "purchase":
            memory.recent.append(Recent(at, tx["total"], True, tx["points_earned"]))
            tid = tx["transaction_id"]
            if self.returned is None or tid in self.returned:
                self.purchases[tid] = RecordedPurchase(
                    tid, changes.member_id, "purchase", at, tx["total"], tx["currency"],
                    tx["points_earned"], 0, Decimal("0"),
                    tuple(SoldLine(x["line_no"], x["sku"], x["category"], x["quantity"],
                                   x["unit_price"], 0, x.get("unit_points", 0))
                          for x in changes.lines))
        else:
            memory.event_times.setdefault("return", []).append(at)
            memory.recent.append(Recent(at, tx["total"], False, -tx["points_clawed_back"]))
            assert changes.returned is not None
            original_id, returned_now, values = changes.returned
            original = self.purchases[original_id]
            lines = tuple(replace(x, returned_quantity=returned_now.get(x.line_no,
                                                                        x.returned_quantity))
                          for x in original.lines)
            self.purchases[original_id] = replace(
                original, lines=lines, returned_total=values["returned_total"],
                points_clawed_back=values["points_clawed_back"])
        newest = max(r.occurred_at for r in memory.recent[-1:])
        if memory.recent and memory.recent[0].occurred_at < newest - WINDOW:
            memory.recent = [r for r in memory.recent if r.occurred_at >= newest - WINDOW]


@dataclass
class Step:
    """One replayed occurrence: what was decided (the occurrence's changes and its
    reactions'), or why it was refused."""

    item: HistoryItem
    book: RuleBook
    changes: list[Changes]
    refused: str | None = None
    tier_before: str = ""


SWEEP_MOVES = {"tier_changed": "to", "lifecycle_changed": "stage", "vip_changed": "vip"}


def see_value(holder: Holder, item: HistoryItem) -> None:
    """Give the member the value the sweeps had recorded for them by the occurrence's instant
    (none: not valued by then)."""
    holder.profile.value_segment = item.values.get("value_segment")
    holder.profile.clv = item.values.get("clv")
    holder.profile.potential_value = item.values.get("potential_value")


def replay_item(state: MemoryState, book: RuleBook, item: HistoryItem,
                lowest_tier: Callable[[RuleBook], str] | None = None) -> Step:
    """Decide one recorded occurrence again with `book`, recording into `state`."""
    memory = state.members.get(item.member_id)
    if memory is None:
        tier = book.policy.tiers.lowest if book.policy.tiers else "member"
        tags = tuple(item.attributes.get("tags", ())) if item.kind == "enrolment" else ()
        memory = state.enrol(item.profile, tags, tier)
    holder = memory.holder
    step = Step(item, book, [], tier_before=holder.profile.tier)
    state.as_of = item.occurred_at
    if item.source_type == "transfer":
        return replay_transfer(state, book, holder, item, step)
    if item.source_type in ("redemption", "adjustment"):
        try:
            if item.source_type == "adjustment":  # as recorded: no rule decides it
                changes = decide_adjustment(book, state, holder, item.source_id, item.points,
                                            item.reason or "", item.actor or "",
                                            item.occurred_at, item.occurred_at)
            else:
                changes = decide_redemption(book, state, holder, item.source_id,
                                            item.reward_id or "", item.quantity,
                                            item.occurred_at, item.occurred_at,
                                            codes=replay_code)
        except LoyaltyError as refused:
            step.refused = refused.code
            return step
        state.record(changes, item.occurred_at)
        step.changes.append(changes)
        return step
    occurrence = item.occurrence
    see_value(holder, item)
    if item.origin == "sweep" and occurrence.kind in SWEEP_MOVES:
        value = occurrence.attributes.get(SWEEP_MOVES[occurrence.kind])
        if occurrence.kind == "tier_changed" and isinstance(value, str):
            holder.profile.tier = value
        elif occurrence.kind == "lifecycle_changed" and isinstance(value, str):
            holder.profile.lifecycle_stage = value
        elif occurrence.kind == "vip_changed" and isinstance(value, bool):
            holder.profile.vip = value
    if item.kind == "enrolment":
        occurrence = replace(occurrence, attributes={}, channel=item.profile.channel)
    try:
        step.changes = process(book, state, holder, occurrence, item.occurred_at,
                               original_id=item.original_id, codes=replay_code)
    except LoyaltyError as refused:
        step.refused = refused.code
    return step


def replay_transfer(state: MemoryState, book: RuleBook, holder: Holder, item: HistoryItem,
                    step: Step) -> Step:
    """A transfer as recorded (no rule decides one): the giver gives its points from the
    lots the replay holds; the receiver gets the lots recorded, each expiring when it did."""
    other = str(item.attributes.get("other") or "")
    at = item.occurred_at
    try:
        if item.kind == "transfer_out":
            changes, _ = decide_transfer_out(book.version, state, holder, item.source_id,
                                             item.points, other, item.reason, item.actor, at)
        else:
            changes = decide_transfer_in(book.version, state, holder, item.source_id,
                                         pieces_from(list(item.attributes.get("lots") or ())),
                                         other, item.reason, item.actor, at)
    except LoyaltyError as refused:
        step.refused = refused.code
        return step
    state.record(changes, at)
    step.changes.append(changes)
    return step


def replay(reader: HistoryReader, choose: Callable[[HistoryItem], RuleBook],
           state: MemoryState | None = None, *, until_seq: int | None = None,
           ) -> Iterator[Step]:
    """Replay the history `reader` yields (in recorded order) into `state`, each occurrence
    with the book `choose` picks for it."""
    state = state if state is not None else MemoryState()
    for item in reader.items(until_seq=until_seq):
        yield replay_item(state, choose(item), item)
