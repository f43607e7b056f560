"""Decide what one occurrence changes, writing nothing: the one decision path.

The till, events, the sweep, `explain` and the backtest all decide here. Deciding reads the
member, their account and the counters shared over time (limit usage, budgets, stock, open
offers) through a `State`, evaluates the rules through the engine, and returns `Changes`: a
plain value of everything to record. Only `State.record` writes, in the database for the till
and the sweep, in memory for explain and the backtest.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from loyalty.domain.decisions import (
    AddTag,
    AwardPoints,
    Decision,
    GrantPrivilege,
    GrantReward,
    IssueOffer,
    MultiplyPoints,
    Notify,
    RemoveTag,
    RevokePrivilege,
    RuleBook,
    SetTier,
)
from loyalty.domain.effects import floor_points, unit_points
from loyalty.domain.errors import (
    InsufficientPoints,
    OutOfStock,
    ReturnExceedsPurchase,
    RewardUnavailable,
    UnknownReward,
    UnknownTransaction,
    ValidationFailed,
)
from loyalty.domain.experiments import CONTROL, group_of
from loyalty.domain.history import EventHistory, Holding
from loyalty.domain.ledger import ADJUSTMENT_RULE, CLAWBACK_RULE, Account, Source
from loyalty.domain.metrics import counts_event, occurrence_amount
from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.domain.policy import MetricDef, ProgramPolicy, RewardDef, TierLadder
from loyalty.domain.referrals import REFERRAL_EVENT, Contacts, qualifies, referral_event_id
from loyalty.domain.tiers import next_review
from loyalty.domain.vouchers import USED, HeldReward, SaleLine, taken_back, usable_vouchers
from loyalty.observability import metrics
from loyalty.services.limits import MAX_AWARD, budget_key, capped_points, period_key
from loyalty.services.notices import receipt_view, rule_notifications
from loyalty.services.timing import expiry_for, iso

DRIFTING = ("declining", "lapsed", "churned")
#: The stage a purchase brings a drifting member back to (buying again is growth after silence)
COMING_BACK = "growing"
TRANSACTIONS = ("purchase", "return")


def voucher_code() -> str:
    return secrets.token_hex(6).upper()


@dataclass
class Holder:
    """The member as deciding needs them: the profile rules test, and what purchases add up."""

    profile: Member
    lifetime_spend: Decimal = Decimal("0")
    lifetime_visits: int = 0
    categories: tuple[str, ...] = ()
    last_purchase_at: datetime | None = None
    #: the channels the member agreed to be contacted on (`{"sms": true}`); None: none
    consents: Mapping[str, Any] | None = None

    @property
    def member_id(self) -> str:
        return self.profile.member_id


@dataclass(frozen=True)
class HeldOffer:
    """An offer the member holds, open until `valid_until`."""

    key: Any
    offer_code: str
    benefit: str
    value: Decimal
    description: str
    rule_id: str | None
    ruleset_version: str | None
    campaign: str | None


@dataclass(frozen=True)
class SoldLine:
    line_no: int
    sku: str
    category: str
    quantity: int
    unit_price: Decimal
    returned_quantity: int
    #: the points the line earned for its units (awards per unit), taken back per unit returned
    unit_points: int = 0


@dataclass(frozen=True)
class RecordedPurchase:
    """A purchase as a return needs it: what it cost, earned, and what is left to return."""

    transaction_id: str
    member_id: str
    type: str
    occurred_at: datetime
    total: Decimal
    currency: str | None
    points_earned: int
    points_clawed_back: int
    returned_total: Decimal
    lines: tuple[SoldLine, ...]


@dataclass
class Outcome:
    """What one occurrence changed, ready to be written into the response body."""

    earned: int = 0
    pending: int = 0
    clawed_back: int = 0
    rewards: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    tier_before: str = ""
    tier_after: str = ""
    #: a purchase: the vouchers it used; a return: the rewards it took back or found used
    vouchers: list[dict[str, Any]] = field(default_factory=list)
    rewards_taken_back: list[dict[str, Any]] = field(default_factory=list)
    rewards_kept: list[dict[str, Any]] = field(default_factory=list)
    #: the notifications queued (or suppressed for want of consent), as the receipt shows them
    notifications: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Changes:
    """Everything one occurrence changes, decided and not yet recorded."""

    member_id: str
    occurrence: Occurrence
    book_version: str
    account: Account
    outcome: Outcome
    member: dict[str, Any] = field(default_factory=dict)
    usage: list[tuple[str, str, int, bool]] = field(default_factory=list)
    budgets: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stock: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rewards: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    offers_used: list[Any] = field(default_factory=list)
    privileges: list[dict[str, Any]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    tier_changes: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    transaction: dict[str, Any] | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    returned: tuple[str, dict[int, int], dict[str, Any]] | None = None
    extend_expiry: datetime | None = None
    #: the event's own row (an event raised by a till, an enrolment or the sweep)
    event: dict[str, Any] | None = None
    #: how the history records the occurrence for replay (None: a reaction, re-decided instead)
    history: str | None = None
    #: the points each rule gave or took, by rule id (what the backtest compares)
    points_by_rule: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: a service desk's adjustment: its own row (points, reason, who made it)
    adjustment: dict[str, Any] | None = None
    #: vouchers a purchase uses, and rewards a return takes back ("revoked": it was unused;
    #: "kept": it was used already), by their key in the `State`
    vouchers_used: list[Any] = field(default_factory=list)
    rewards_back: list[tuple[Any, str]] = field(default_factory=list)
    #: the points each line of the occurrence (by index) earned for its units
    unit_points: dict[int, int] = field(default_factory=dict)
    #: the figures of the tier ladder's metrics once the occurrence is counted (None: no
    #: ladder, or an occurrence that read no figures, such as a return)
    figures: dict[str, Decimal] | None = None
    #: the group (offer or control) of each rule with a holdout that decided for the member
    experiments: list[dict[str, Any]] = field(default_factory=list)


class State(Protocol):
    """What deciding reads, and where decided changes are recorded."""

    def stats(self, member: Holder, as_of: datetime) -> MemberStats: ...

    def metric_figures(self, member: Holder, as_of: datetime,
                       metrics: Sequence[MetricDef]) -> Mapping[str, Decimal]: ...

    def event_history(self, member: Holder, as_of: datetime,
                      types: frozenset[str]) -> Mapping[str, EventHistory]: ...

    def holdings(self, member: Holder, as_of: datetime) -> tuple[Holding, ...]: ...

    def usage(self, member_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        ...

    def budget_spent(self, key: str) -> int: ...

    def stock_used(self, reward_id: str) -> int: ...

    def open_offers(self, member_id: str, as_of: datetime) -> Sequence[HeldOffer]: ...

    def purchase(self, transaction_id: str) -> RecordedPurchase | None: ...

    def vouchers(self, codes: Sequence[str]) -> Mapping[str, HeldReward]:
        """The rewards whose voucher codes are among `codes` (any member's), held for the
        write that uses them."""
        ...

    def granted_rewards(self, transaction_id: str) -> Sequence[HeldReward]:
        """The rewards the rules granted for a purchase (not its reactions')."""
        ...

    def member(self, member_id: str) -> Holder | None: ...

    def referrer_of(self, friend: Holder) -> str | None:
        """The member who referred `friend`, while their referral has rewarded nobody yet."""
        ...

    def referring(self, member_id: str) -> Holder | None:
        """A referrer about to be rewarded (the surviving member of a merge), held for this
        write; None when their personal data was erased."""
        ...

    def contacts(self, member_id: str) -> Contacts:
        """Every phone and e-mail the member has or had on record."""
        ...

    def account(self, member: Holder, *, as_of: datetime | None) -> Account: ...

    def record(self, changes: Changes, recorded_at: datetime) -> None: ...


def decision_view(decision: Decision, points: int | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "rule_id": decision.rule_id, "ruleset": decision.ruleset,
        "ruleset_version": decision.ruleset_version, "effect": decision.effect_name,
        "reason": decision.reason,
    }
    if points is not None:
        view["points"] = points
    if decision.campaign:
        view["campaign"] = decision.campaign
    return view


def metric_value(metric: str, stats: MemberStats, occurrence: Occurrence, earned: int,
                 policy: ProgramPolicy | None = None) -> Decimal:
    """A tier metric as it stands once this occurrence is counted (a metric `policy` declares:
    its figure, plus what the occurrence adds to it)."""
    declared = policy.metric_figure(metric) if policy is not None else None
    if declared is not None:
        return stats.metrics.get(metric, Decimal(0)) + occurrence_amount(declared[0], occurrence)
    purchase = occurrence.kind == "purchase"
    spend = occurrence.total if purchase else Decimal("0")
    visit = 1 if purchase else 0
    values: dict[str, Decimal] = {
        "spend_30d": stats.spend_30d + spend, "spend_90d": stats.spend_90d + spend,
        "spend_365d": stats.spend_365d + spend, "lifetime_spend": stats.lifetime_spend + spend,
        "visits_30d": Decimal(stats.visits_30d + visit),
        "visits_90d": Decimal(stats.visits_90d + visit),
        "visits_365d": Decimal(stats.visits_365d + visit),
        "lifetime_visits": Decimal(stats.lifetime_visits + visit),
        "points_lifetime": Decimal(stats.points_lifetime + earned),
        "points_365d": Decimal(stats.points_365d + (earned if purchase else 0)),
    }
    return values.get(metric, Decimal("0"))


def ladder_figures(ladder: TierLadder, stats: MemberStats, occurrence: Occurrence, earned: int,
                   policy: ProgramPolicy) -> dict[str, Decimal]:
    """The figure of every metric the ladder names, once this occurrence is counted."""
    return {name: metric_value(name, stats, occurrence, earned, policy)
            for name in ladder.metrics}


class Decider:
    """Decides the rules' effects for one occurrence of one member into `Changes`."""

    def __init__(self, book: RuleBook, state: State, member: Holder, account: Account,
                 occurrence: Occurrence, codes: Callable[[], str] = voucher_code) -> None:
        self.book = book
        self.state = state
        self.holder = member
        self.member = replace(member.profile)
        self.occ = occurrence
        self.source_type = "transaction" if occurrence.kind in TRANSACTIONS else "event"
        self.codes = codes
        self.notices: list[Decision] = []
        #: the views of the decisions set aside for a control group
        self.held_out: list[dict[str, Any]] = []
        self.changes = Changes(member.member_id, occurrence, book.version, account,
                               Outcome(tier_before=member.profile.tier,
                                       tier_after=member.profile.tier))

    def source(self, decision: Decision | None = None, **extra: Any) -> Source:
        return Source(
            self.source_type, self.occ.source_id, self.occ.occurred_at,
            rule_id=decision.rule_id if decision else extra.get("rule_id"),
            ruleset_version=decision.ruleset_version if decision else extra.get("version"),
            campaign=decision.campaign if decision else extra.get("campaign"),
        )

    def run(self, stats: MemberStats) -> Changes:
        occ, book, changes = self.occ, self.book, self.changes
        out = changes.outcome
        with metrics.rule_evaluation(occ.kind if occ.kind in TRANSACTIONS else "event"):
            decisions = book.evaluate(EvaluationInput(occ, self.member, stats, occ.occurred_at))
        decisions, points = self.set_aside(*self.within_limits(decisions))
        changes.unit_points = unit_points(decisions, points, occ)
        parts: list[tuple[int, str, Source]] = []
        views: list[dict[str, Any]] = []
        for index, decision in enumerate(decisions):
            value = points.get(index)
            views.append(decision_view(decision, value))
            if isinstance(decision.effect, AwardPoints | MultiplyPoints) and value:
                parts.append((value, decision.reason, self.source(decision)))
                changes.points_by_rule[decision.rule_id] += value
        out.decisions.extend(views)
        out.decisions.extend(self.held_out)
        parts.extend(self.presented_offers(sum(p for p, _, _ in parts)))
        policy = book.policy.points
        lot = changes.account.earn(
            parts, pending_until=occ.occurred_at + timedelta(days=policy.pending_days),
            expires_at=expiry_for(policy, occ.occurred_at),
        )
        out.earned = lot.earned if lot else 0
        out.pending = lot.earned if lot and lot.state == "pending" else 0
        for decision, view in zip(decisions, views, strict=True):
            self.other_effect(decision, view)
        ladder = book.policy.tiers
        if ladder is not None:
            changes.figures = ladder_figures(ladder, stats, occ, out.earned, book.policy)
            if moves_ladder(ladder, book.policy, occ.kind):
                self.upgrade(ladder, changes.figures)
        out.tier_after = self.member.tier
        self.queue_notices()
        return changes

    def queue_notices(self) -> None:
        """Render the notifications of the `notify` effects, once everything else is decided
        (the points, reward and offer a message speaks of)."""
        for decision in self.notices:
            assert isinstance(decision.effect, Notify)
            rows = rule_notifications(self.book.policy, decision, decision.effect, self.member,
                                      self.holder.consents, self.occ, self.changes)
            self.changes.notifications.extend(rows)
            self.changes.outcome.notifications.extend(receipt_view(row) for row in rows)

    def within_limits(self, decisions: Sequence[Decision]) -> tuple[list[Decision],
                                                                     dict[int, int]]:
        """Drop decisions of rules that reached their limit or would overspend their budget,
        and note the use of the others. Returns the decisions that apply and the points of
        each award (by index in that list)."""
        occurrence, changes = self.occ, self.changes
        counted = {d.rule_id: (period_key(d.limit.period, occurrence), d.limit.times)
                   for d in decisions if d.limit is not None and d.limit.times is not None}
        keys = {rule: key for rule, (key, _) in counted.items()}
        usage = self.state.usage(self.member.member_id, list(keys.items())) if keys else {}
        blocked = {rule for rule, (key, times) in counted.items()
                   if usage.get((rule, key), 0) >= times}
        kept = [d for d in decisions if d.rule_id not in blocked]
        points = capped_points(kept, occurrence)
        budgets: dict[str, int] = {}
        for d in kept:
            if d.limit is not None and d.limit.budget_points is not None:
                key = budget_key(d.campaign, d.rule_id)
                budgets[key] = min(budgets.get(key, d.limit.budget_points), d.limit.budget_points)
        if budgets:

            def wanted(key: str) -> int:
                return sum(points.get(i, 0) for i, d in enumerate(kept)
                           if budget_key(d.campaign, d.rule_id) == key)

            over = {key for key, budget in sorted(budgets.items())
                    if self.state.budget_spent(key) + changes.budgets[key] + wanted(key)
                    > budget}
            if over:
                kept = [d for d in kept if budget_key(d.campaign, d.rule_id) not in over]
                points = capped_points(kept, occurrence)
            for key in sorted(budgets.keys() - over):
                changes.budgets[key] += wanted(key)
        applied = {d.rule_id for d in kept}
        for rule, key in keys.items():
            if rule in applied:
                rule_points = sum(points.get(i, 0) for i, d in enumerate(kept)
                                  if d.rule_id == rule)
                changes.usage.append((rule, key, rule_points, (rule, key) in usage))
        return kept, points

    def set_aside(self, decisions: list[Decision], points: dict[int, int]
                  ) -> tuple[list[Decision], dict[int, int]]:
        """Hold the control group of each rule with a holdout back from it: its decisions are
        set aside (shown, never applied), after the limits, so that the control group is the
        members the rule would have acted for. Their use still counts towards the rule's limit
        (without points) and spends no budget. Both groups are recorded."""
        held: set[str] = set()
        for d in decisions:
            if d.holdout is None or any(x["rule_id"] == d.rule_id
                                        for x in self.changes.experiments):
                continue
            group = group_of(d.rule_id, self.member.member_id, d.holdout.percent)
            self.changes.experiments.append(self.experiment(d, group))
            if group == CONTROL:
                held.add(d.rule_id)
                self.held_out.append({
                    **decision_view(d, None), "effect": "hold_out", "held_out": True,
                    "reason": f"set aside: control group of {d.rule_id}, {d.holdout.percent}%",
                    "set_aside": [x.effect_name for x in decisions if x.rule_id == d.rule_id]})
        if not held:
            return decisions, points
        kept = [d for d in decisions if d.rule_id not in held]
        given = capped_points(kept, self.occ)
        changes = self.changes
        for key in {budget_key(d.campaign, d.rule_id) for d in decisions
                    if d.limit is not None and d.limit.budget_points is not None}:
            changes.budgets[key] -= (
                sum(points.get(i, 0) for i, d in enumerate(decisions)
                    if budget_key(d.campaign, d.rule_id) == key)
                - sum(given.get(i, 0) for i, d in enumerate(kept)
                      if budget_key(d.campaign, d.rule_id) == key))
        changes.usage = [(rule, key, 0 if rule in held else sum(
            given.get(i, 0) for i, d in enumerate(kept) if d.rule_id == rule), existing)
            for rule, key, _, existing in changes.usage]
        return kept, given

    def experiment(self, decision: Decision, group: str) -> dict[str, Any]:
        """The record of a member's group for a rule with a holdout, and when their window to
        come back closes."""
        assert decision.holdout is not None
        at = self.occ.occurred_at
        return {"rule_id": decision.rule_id, "campaign": decision.campaign,
                "ruleset_version": decision.ruleset_version, "member_id": self.member.member_id,
                "grp": group, "percent": decision.holdout.percent,
                "within_days": decision.holdout.within_days, "source_type": self.source_type,
                "source_id": self.occ.source_id, "decided_at": at,
                "window_until": at + timedelta(days=decision.holdout.within_days)}

    def presented_offers(self, base_points: int) -> list[tuple[int, str, Source]]:
        """Offers the member holds and presented now: bonus points or a multiplier, then used."""
        occ, changes = self.occ, self.changes
        if not occ.offer_codes or occ.kind != "purchase":
            return []
        presented = set(occ.offer_codes)
        parts: list[tuple[int, str, Source]] = []
        for offer in self.state.open_offers(self.member.member_id, occ.occurred_at):
            if offer.offer_code not in presented:
                continue
            presented.discard(offer.offer_code)
            if offer.benefit == "bonus_points":
                value = min(MAX_AWARD, floor_points(offer.value))
            else:
                value = min(MAX_AWARD, floor_points(Decimal(base_points) * (offer.value - 1)))
            reason = f"offer {offer.offer_code} used: {offer.description}".rstrip(": ")
            src = self.source(rule_id=offer.rule_id, version=offer.ruleset_version,
                              campaign=offer.campaign)
            if value > 0:
                parts.append((value, reason, src))
                changes.points_by_rule[offer.rule_id or offer.offer_code] += value
                if offer.campaign:  # the campaign's budget counts what its offers give
                    changes.budgets[budget_key(offer.campaign, offer.rule_id)] += value
            changes.offers_used.append(offer.key)
            changes.outcome.offers.append({"offer_code": offer.offer_code, "status": "used",
                                           "points": value, "description": offer.description})
            changes.outcome.decisions.append({
                "rule_id": offer.rule_id, "ruleset": "offers",
                "ruleset_version": offer.ruleset_version, "effect": "use_offer",
                "points": value, "reason": reason})
        return parts

    def in_stock(self, reward_id: str, quantity: int) -> bool:
        """Take `quantity` of a catalogue reward with a stock; False (nothing taken) when too
        few are left. A reward without a stock is never short."""
        reward = self.book.policy.reward(reward_id)
        if reward is None or reward.stock is None:
            return True
        taken = self.changes.stock
        if self.state.stock_used(reward_id) + taken[reward_id] + quantity > reward.stock:
            return False
        taken[reward_id] += quantity
        return True

    def other_effect(self, decision: Decision, view: dict[str, Any]) -> None:
        effect, changes = decision.effect, self.changes
        out = changes.outcome
        member_id = self.member.member_id
        at = self.occ.occurred_at
        common = {"member_id": member_id, "source_id": self.occ.source_id,
                  "rule_id": decision.rule_id, "ruleset_version": decision.ruleset_version}
        if isinstance(effect, GrantReward):
            if not self.in_stock(effect.reward_id, effect.quantity):
                view["reason"] = f"{view['reason']}; not given: {effect.reward_id} is out of stock"
                return
            code = self.codes()
            valid_until = None
            if effect.valid_days:
                valid_until = (at + timedelta(days=effect.valid_days)).astimezone(UTC)
            changes.rewards.append({
                **common, "reward_id": effect.reward_id, "quantity": effect.quantity,
                "voucher_code": code, "source_type": self.source_type,
                "campaign": decision.campaign, "points_spent": 0, "granted_at": at,
                "valid_until": valid_until, "source_lines": list(decision.matched_lines)
                if self.occ.kind == "purchase" and decision.matched_lines else None,
            })
            out.rewards.append({"reward_id": effect.reward_id, "rule_id": decision.rule_id,
                                "quantity": effect.quantity, "voucher_code": code,
                                "valid_until": iso(valid_until)})
        elif isinstance(effect, IssueOffer):
            valid_until = (at + timedelta(days=effect.valid_days)).astimezone(UTC)
            description = effect.description or decision.reason
            changes.offers.append({
                "member_id": member_id, "offer_code": effect.offer_id, "benefit": effect.benefit,
                "value": effect.value, "description": description,
                "status": "open", "issued_at": at, "valid_until": valid_until,
                "source_id": self.occ.source_id, "rule_id": decision.rule_id,
                "ruleset_version": decision.ruleset_version, "campaign": decision.campaign,
            })
            out.offers.append({"offer_code": effect.offer_id, "status": "issued",
                               "benefit": effect.benefit, "value": str(effect.value),
                               "description": description,
                               "valid_until": iso(valid_until), "rule_id": decision.rule_id})
        elif isinstance(effect, GrantPrivilege):
            valid_until = at + timedelta(days=effect.valid_days) if effect.valid_days else None
            changes.privileges.append({**common, "privilege": effect.privilege,
                                       "granted_at": at, "valid_until": valid_until})
        elif isinstance(effect, RevokePrivilege):
            changes.revoked.append(effect.privilege)
        elif isinstance(effect, SetTier):
            self.change_tier(effect.tier, decision.reason, decision.rule_id,
                             decision.ruleset_version)
        elif isinstance(effect, AddTag | RemoveTag):
            tags = [tag for tag in self.member.tags if tag != effect.tag]
            if isinstance(effect, AddTag):
                tags.append(effect.tag)
            self.member.tags = tuple(tags)
            changes.member["tags"] = tags
        elif isinstance(effect, Notify):
            self.notices.append(decision)

    def upgrade(self, ladder: TierLadder, values: Mapping[str, Decimal]) -> None:
        """Move up at once when a metric reaches a higher tier; never down mid-purchase."""
        target = ladder.qualifying_tier(values)
        rank = ladder.rank(target)
        reached = ladder.reached_by(ladder.levels[rank], values)
        if rank > ladder.rank(self.member.tier) and reached is not None:
            name, value = reached
            self.change_tier(target, f"qualified for {target}: {name} reached {value}",
                             None, self.book.version)

    def change_tier(self, tier: str, reason: str, rule_id: str | None, version: str) -> None:
        if tier == self.member.tier:
            return
        at = self.occ.occurred_at
        self.changes.tier_changes.append({
            "member_id": self.member.member_id, "from_tier": self.member.tier, "to_tier": tier,
            "changed_at": at, "reason": reason, "source_id": self.occ.source_id,
            "rule_id": rule_id, "ruleset_version": version,
        })
        self.member.tier = tier
        self.changes.member.update(tier=tier, tier_since=at, tier_notice_for=None,
                                   tier_review_at=next_review(self.book.policy.tiers, at, tier))


def moves_ladder(ladder: TierLadder, policy: ProgramPolicy, kind: str) -> bool:
    """Whether an occurrence of this kind can move a member up the ladder: a purchase, or an
    event one of the ladder's declared metrics sums."""
    if kind == "purchase":
        return True
    declared = (policy.metric_figure(name) for name in ladder.metrics)
    return counts_event((found[0] for found in declared if found is not None), kind)


def with_metric_figures(book: RuleBook, state: State, member: Holder, at: datetime,
                        stats: MemberStats) -> MemberStats:
    """The statistics with the figures of the metrics the programme declares (none: as they
    are, at no cost)."""
    declared = book.policy.metrics
    if not declared:
        return stats
    return replace(stats, metrics=state.metric_figures(member, at, declared))


def member_stats(book: RuleBook, state: State, member: Holder,
                 occurrence: Occurrence) -> MemberStats:
    """The member's figures before `occurrence`, with the history (event counts, products
    held) the rules judging it test, and no more."""
    at = occurrence.occurred_at
    stats = with_metric_figures(book, state, member, at, state.stats(member, at))
    needs = book.history_needs(occurrence.kind)
    if not needs:
        return stats
    events = state.event_history(member, at, needs.events) if needs.events else {}
    products = state.holdings(member, at) if needs.products else ()
    return replace(stats, events=events, products=products)


def decide_event(book: RuleBook, state: State, member: Holder, occurrence: Occurrence,
                 codes: Callable[[], str] = voucher_code) -> Changes:
    """What the rules decide for a non-purchase occurrence (an event, enrolment, a sweep's)."""
    at = occurrence.occurred_at
    stats = member_stats(book, state, member, occurrence)
    account = state.account(member, as_of=at)
    account.settle(at, Source("event", occurrence.source_id, at, ruleset_version=book.version))
    return Decider(book, state, member, account, occurrence, codes).run(stats)


def decide_purchase(book: RuleBook, state: State, member: Holder, occurrence: Occurrence,
                    recorded_at: datetime, codes: Callable[[], str] = voucher_code) -> Changes:
    """What the rules decide for a purchase, and what it adds to the member's figures."""
    at, tid = occurrence.occurred_at, occurrence.source_id
    vouchers = usable_vouchers(occurrence.vouchers, state.vouchers(occurrence.vouchers),
                               member.member_id, at) if occurrence.vouchers else []
    occurrence = replace(occurrence, voucher_rewards=tuple(v.reward_id for v in vouchers))
    stats = member_stats(book, state, member, occurrence)
    account = state.account(member, as_of=at)
    account.settle(at, Source("transaction", tid, at, ruleset_version=book.version))
    changes = Decider(book, state, member, account, occurrence, codes).run(stats)
    changes.vouchers_used = [voucher.key for voucher in vouchers]
    changes.outcome.vouchers = [{"voucher_code": v.voucher_code, "reward_id": v.reward_id,
                                 "quantity": v.quantity, "status": "used"} for v in vouchers]
    changes.transaction = {
        "transaction_id": tid, "member_id": member.member_id, "type": "purchase",
        "occurred_at": at, "recorded_at": recorded_at, "store_id": occurrence.store_id,
        "channel": occurrence.channel, "currency": occurrence.currency,
        "total": occurrence.total, "ruleset_version": book.version,
        "points_earned": changes.outcome.earned, "points_clawed_back": 0,
        "returned_total": Decimal("0"),
        "payment_methods": list(occurrence.payment_methods),
        "offer_codes": list(occurrence.offer_codes),
        "vouchers": list(occurrence.vouchers),
    }
    changes.lines = [
        {"transaction_id": tid, "line_no": i, "sku": line.sku, "category": line.category,
         "quantity": line.quantity, "unit_price": line.unit_price, "returned_quantity": 0,
         "unit_points": changes.unit_points.get(i, 0)}
        for i, line in enumerate(occurrence.lines)]
    last = member.last_purchase_at
    categories = sorted(set(member.categories) | {line.category for line in occurrence.lines})
    changes.member.update(
        lifetime_spend=member.lifetime_spend + occurrence.total,
        lifetime_visits=member.lifetime_visits + 1, categories=categories,
        last_purchase_at=at if last is None or at > last else last)
    if member.profile.lifecycle_stage in DRIFTING:  # a purchase brings a drifting member back
        changes.member.update(lifecycle_stage=COMING_BACK, lifecycle_since=at)
    policy = book.policy.points
    if policy.expiry == "extended_by_activity":
        changes.extend_expiry = expiry_for(policy, at)
    return changes


def reactions(changes: Changes, before: Holder) -> list[Occurrence]:
    """What a purchase (or an event a tier metric sums) changed that the rules react to in the
    same transaction: an upgrade, a drifting member coming back (a purchase only)."""
    occ, out = changes.occurrence, changes.outcome
    found: list[Occurrence] = []
    if out.tier_after != out.tier_before:
        found.append(Occurrence(
            kind="tier_changed", source_id=f"{occ.source_id}#tier", occurred_at=occ.occurred_at,
            attributes={"from": out.tier_before, "to": out.tier_after, "direction": "up"}))
    if (occ.kind == "purchase" and before.profile.lifecycle_stage in DRIFTING
            and before.last_purchase_at is not None):  # a first purchase is no coming back
        found.append(Occurrence(
            kind="lifecycle_changed", source_id=f"{occ.source_id}#lifecycle",
            occurred_at=occ.occurred_at,
            attributes={"stage": COMING_BACK, "previous": before.profile.lifecycle_stage}))
    return found


def return_lines(original: RecordedPurchase, lines: Sequence[Line],
                 transaction_id: str) -> tuple[Decimal, dict[int, int], list[dict[str, Any]]]:
    """Match returned units to the purchase's lines: the value returned, the new returned
    quantities by line number, and the return's own lines. Refuses more than is left."""
    wanted: dict[str, int] = defaultdict(int)
    for line in lines:
        wanted[line.sku] += line.quantity
    value = Decimal("0")
    returned_now: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for sku, quantity in wanted.items():
        matching = [row for row in original.lines if row.sku == sku]
        left = sum(row.quantity - row.returned_quantity for row in matching)
        if quantity > left:
            bought = sum(row.quantity for row in matching)
            problems[sku] = (f"bought {bought}, already returned {bought - left}, "
                             f"cannot return {quantity} more")
            continue
        for row in matching:
            take = min(quantity, row.quantity - row.returned_quantity)
            if take <= 0:
                continue
            quantity -= take
            returned_now[row.line_no] = row.returned_quantity + take
            value += row.unit_price * take
            rows.append({"transaction_id": transaction_id, "line_no": len(rows), "sku": sku,
                         "category": row.category, "quantity": take,
                         "unit_price": row.unit_price, "returned_quantity": 0})
    if problems:
        raise ReturnExceedsPurchase(
            f"return exceeds what purchase {original.transaction_id!r} bought",
            details={"lines": problems})
    return value, returned_now, rows


def clawback_target(original: RecordedPurchase, returned_now: Mapping[int, int],
                    returned_total: Decimal) -> int:
    """The points a purchase has given back once these units are returned: each line's points
    for its units per unit returned, the rest of its points in proportion to the value
    returned; never more than it earned."""
    earned = original.points_earned
    by_units = 0
    for line in original.lines:
        returned = returned_now.get(line.line_no, line.returned_quantity)
        if line.unit_points and line.quantity > 0:
            by_units += line.unit_points * returned // line.quantity
    rest = max(0, earned - sum(line.unit_points for line in original.lines))
    by_value = rest if original.total <= 0 else min(
        rest, floor_points(rest * returned_total / original.total))
    return min(earned, by_units + by_value)


def decide_return(book: RuleBook, state: State, member: Holder, occurrence: Occurrence,
                  original_id: str, recorded_at: datetime) -> Changes:
    """Claw back the points of the units returned (awards per unit) and the rest of the
    purchase's points in proportion to the value returned, never more than was earned."""
    original = state.purchase(original_id)
    if original is None or original.member_id != member.member_id or original.type != "purchase":
        raise UnknownTransaction(
            f"member {member.member_id!r} has no purchase {original_id!r} to return against",
            details={"original_transaction_id": original_id})
    at, tid = occurrence.occurred_at, occurrence.source_id
    if at < original.occurred_at:
        raise ValidationFailed.on_fields({"occurred_at": [
            f"A return cannot happen before its purchase ({original.occurred_at.isoformat()})."
        ]})
    value, returned_now, rows = return_lines(original, occurrence.lines, tid)
    returned_total = original.returned_total + value
    target = clawback_target(original, returned_now, returned_total)
    claw = max(0, target - original.points_clawed_back)
    account = state.account(member, as_of=None)
    source = Source("transaction", tid, at, ruleset_version=book.version)
    account.settle(at, source)
    share = (value / original.total * 100).quantize(Decimal("0.1")) if original.total else 0
    reason = f"return of {share}% of purchase {original_id}"
    shortfall = account.claw_back(claw, reason, source, original_source_id=original_id,
                                  shortfall=book.policy.points.shortfall)
    tier = member.profile.tier
    changes = Changes(member.member_id, occurrence, book.version, account,
                      Outcome(tier_before=tier, tier_after=tier, clawed_back=claw))
    if claw:
        changes.points_by_rule[CLAWBACK_RULE] -= claw
    changes.transaction = {
        "transaction_id": tid, "member_id": member.member_id, "type": "return",
        "occurred_at": at, "recorded_at": recorded_at, "store_id": occurrence.store_id,
        "channel": occurrence.channel, "currency": occurrence.currency or original.currency,
        "total": -value, "original_transaction_id": original_id,
        "ruleset_version": book.version, "points_earned": 0, "points_clawed_back": claw,
        "returned_total": Decimal("0"), "payment_methods": [], "offer_codes": [],
    }
    changes.lines = rows
    changes.returned = (original_id, returned_now, {
        "returned_total": returned_total,
        "points_clawed_back": original.points_clawed_back + claw})
    changes.member["lifetime_spend"] = member.lifetime_spend - value
    changes.outcome.decisions.append({
        "rule_id": CLAWBACK_RULE, "ruleset": "program", "ruleset_version": book.version,
        "effect": "claw_back_points", "points": -claw,
        "reason": reason + (f"; {shortfall} points could not be taken back"
                            f" ({book.policy.points.shortfall})" if shortfall else ""),
    })
    take_back_rewards(book, state, original, returned_now, changes)
    return changes


def take_back_rewards(book: RuleBook, state: State, original: RecordedPurchase,
                      returned_now: dict[int, int], changes: Changes) -> None:
    """A return that leaves none of the lines a reward was granted for takes it back: an unused
    one is revoked (and its stock given back), a used one is noted as kept."""
    lines = [SaleLine(x.line_no, x.quantity, x.returned_quantity) for x in original.lines]
    out = changes.outcome
    for reward in taken_back(state.granted_rewards(original.transaction_id), lines,
                             returned_now):
        view = {"reward_id": reward.reward_id, "voucher_code": reward.voucher_code,
                "quantity": reward.quantity, "rule_id": reward.rule_id}
        if reward.status == USED:
            changes.rewards_back.append((reward.key, "kept"))
            out.rewards_kept.append({**view, "used_by": reward.used_by})
            continue
        changes.rewards_back.append((reward.key, "revoked"))
        out.rewards_taken_back.append(view)
        listed = book.policy.reward(reward.reward_id)
        if listed is not None and listed.stock is not None:
            changes.stock[reward.reward_id] -= reward.quantity


def reward_available(reward: RewardDef, as_of: datetime) -> bool:
    day = as_of.date()
    return (reward.valid_from is None or reward.valid_from <= day) and (
        reward.valid_until is None or day <= reward.valid_until
    )


def decide_redemption(book: RuleBook, state: State, member: Holder, redemption_id: str,
                      reward_id: str, quantity: int, at: datetime, recorded_at: datetime,
                      codes: Callable[[], str] = voucher_code) -> Changes:
    """Spend points on a catalogue reward: refused (nothing changes) when the reward is unknown
    or unavailable, the points are too few, or the stock is out."""
    reward = book.policy.reward(reward_id)
    if reward is None:
        raise UnknownReward(f"no reward {reward_id!r} in the catalogue",
                            details={"reward_id": reward_id})
    if reward.points_cost is None or not reward_available(reward, at):
        raise RewardUnavailable(f"reward {reward_id!r} cannot be redeemed for points now",
                                details={"reward_id": reward_id})
    cost = reward.points_cost * quantity
    account = state.account(member, as_of=None)
    source = Source("redemption", redemption_id, at, rule_id=f"rewards.{reward_id}",
                    ruleset_version=book.version)
    account.settle(at, source)
    if account.available < cost:
        raise InsufficientPoints(f"{cost} points needed, {account.available} available",
                                 details={"required": cost, "available": account.available})
    redeemed = state.stock_used(reward_id)
    if reward.stock is not None and redeemed + quantity > reward.stock:
        raise OutOfStock(f"reward {reward_id!r} is out of stock",
                         details={"reward_id": reward_id,
                                  "stock_remaining": max(0, reward.stock - redeemed)})
    account.spend(cost, f"redeemed {quantity} x {reward.name}", source)
    occurrence = Occurrence(kind="redemption", source_id=redemption_id, occurred_at=at)
    tier = member.profile.tier
    changes = Changes(member.member_id, occurrence, book.version, account,
                      Outcome(tier_before=tier, tier_after=tier), history="redemption")
    changes.stock[reward_id] += quantity
    code = codes()
    changes.rewards.append({
        "member_id": member.member_id, "reward_id": reward_id, "quantity": quantity,
        "voucher_code": code, "source_type": "redemption", "source_id": redemption_id,
        "rule_id": None, "ruleset_version": book.version, "campaign": None,
        "points_spent": cost, "granted_at": at, "valid_until": None,
    })
    changes.points_by_rule[f"rewards.{reward_id}"] -= cost
    changes.outcome.rewards.append({"reward_id": reward_id, "quantity": quantity,
                                    "voucher_code": code, "points_spent": cost})
    return changes


def decide_adjustment(book: RuleBook, state: State, member: Holder, adjustment_id: str,
                      points: int, reason: str, actor: str, at: datetime,
                      recorded_at: datetime) -> Changes:
    """Add points by hand (available at once, repaying any debt first) or remove available
    ones; refused (nothing changes) when the member has too few available. No rule decides."""
    account = state.account(member, as_of=at if points > 0 else None)
    account.settle(at, Source("adjustment", adjustment_id, at, ruleset_version=book.version))
    if -points > account.available:
        raise InsufficientPoints(f"{-points} points needed, {account.available} available",
                                 details={"required": -points, "available": account.available})
    source = Source("adjustment", adjustment_id, at, rule_id=ADJUSTMENT_RULE,
                    ruleset_version=book.version, actor=actor)
    text = f"adjusted by {actor}: {reason}"
    tier = member.profile.tier
    out = Outcome(tier_before=tier, tier_after=tier)
    if points > 0:
        account.earn([(points, text, source)], pending_until=at,
                     expires_at=expiry_for(book.policy.points, at))
        out.earned = points
    else:
        account.spend(-points, text, source, kind="adjust")
    out.decisions.append({"rule_id": ADJUSTMENT_RULE, "ruleset": "desk",
                          "ruleset_version": book.version, "effect": "adjust_points",
                          "points": points, "reason": text})
    occurrence = Occurrence(kind="adjustment", source_id=adjustment_id, occurred_at=at)
    changes = Changes(member.member_id, occurrence, book.version, account, out,
                      history="adjustment")
    changes.points_by_rule[ADJUSTMENT_RULE] += points
    changes.adjustment = {"adjustment_id": adjustment_id, "member_id": member.member_id,
                          "points": points, "reason": reason, "actor": actor,
                          "occurred_at": at, "recorded_at": recorded_at}
    return changes


def absorb(out: Outcome, reaction: Outcome) -> None:
    """A reaction's effects join the receipt of the purchase that caused it: its points are
    counted in what the receipt says was earned (the purchase's own record keeps its own)."""
    out.earned += reaction.earned
    out.pending += reaction.pending
    out.rewards.extend(reaction.rewards)
    out.offers.extend(reaction.offers)
    out.decisions.extend(reaction.decisions)
    out.notifications.extend(reaction.notifications)


def process(book: RuleBook, state: State, member: Holder, occurrence: Occurrence,
            recorded_at: datetime, *, original_id: str | None = None, origin: str | None = None,
            stored_attributes: dict[str, Any] | None = None,
            codes: Callable[[], str] = voucher_code) -> list[Changes]:
    """Decide and record one occurrence and the reactions it causes, in order: what the till,
    the sweep, explain and the backtest all run. The first `Changes` is the occurrence's.

    An event is recorded with its `origin` (None: a till) and `stored_attributes` (default:
    its own attributes).
    """
    if occurrence.kind == "return":
        changes = decide_return(book, state, member, occurrence, original_id or "", recorded_at)
        changes.history = "transaction"
        state.record(changes, recorded_at)
        return [changes]
    if occurrence.kind == "purchase":
        changes = decide_purchase(book, state, member, occurrence, recorded_at, codes)
        changes.history = "transaction"
    else:
        changes = decide_event(book, state, member, occurrence, codes)
        changes.history = "event"
        changes.event = {
            "event_id": occurrence.source_id, "member_id": member.member_id,
            "type": occurrence.kind, "occurred_at": occurrence.occurred_at,
            "recorded_at": recorded_at, "ruleset_version": book.version, "origin": origin,
            "attributes": occurrence.attributes if stored_attributes is None
            else stored_attributes,
        }
    ladder = book.policy.tiers
    reacts = occurrence.kind == "purchase" or (
        ladder is not None and moves_ladder(ladder, book.policy, occurrence.kind))
    # read before recording: a state held in memory (a replay) changes `member` as it records
    caused = reactions(changes, member) if reacts else []
    state.record(changes, recorded_at)
    done = [changes]
    for reaction in caused:
        now = state.member(member.member_id)
        assert now is not None
        later = decide_event(book, state, now, reaction, codes)
        state.record(later, recorded_at)
        absorb(changes.outcome, later.outcome)
        done.append(later)
    if occurrence.kind == "purchase":
        reward_referrer(book, state, member, occurrence, recorded_at, codes)
    return done


def reward_referrer(book: RuleBook, state: State, friend: Holder, purchase: Occurrence,
                    recorded_at: datetime, codes: Callable[[], str] = voucher_code
                    ) -> list[Changes]:
    """A referred friend's first qualifying purchase raises `referral_qualified` for the
    referrer, decided and recorded as the referrer's own event in the same transaction (after
    the friend, who is locked first). Once per friend; never when the two share a phone or an
    e-mail, now or in their history. Not part of what the purchase returns: it is not the
    friend's."""
    referrer_id = state.referrer_of(friend)
    if referrer_id is None or not qualifies(book.policy.referrals, friend.profile.enrolled_at,
                                            purchase.occurred_at, purchase.total):
        return []
    referrer = state.referring(referrer_id)
    if referrer is None or referrer.member_id == friend.member_id:
        return []
    if state.contacts(friend.member_id).shared_with(state.contacts(referrer.member_id)):
        return []
    attributes: dict[str, Any] = {"friend": friend.member_id,
                                  "transaction_id": purchase.source_id, "total": purchase.total}
    event = Occurrence(kind=REFERRAL_EVENT, source_id=referral_event_id(friend.member_id),
                       occurred_at=purchase.occurred_at, attributes=attributes)
    return process(book, state, referrer, event, recorded_at, origin="referral",
                   stored_attributes={**attributes, "total": str(purchase.total)}, codes=codes)
