"""Evaluate the rules for one occurrence and carry out every decision, inside one unit of work."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from loyalty.domain.effects import floor_points
from loyalty.domain.ledger import Account, Source
from loyalty.domain.model import EvaluationInput, Member, MemberStats, Occurrence
from loyalty.domain.policy import PointsPolicy, TierLadder
from loyalty.domain.tiers import next_review
from loyalty.services.limits import MAX_AWARD, apply_limits, budget_key
from loyalty.services.timing import expiry_for, iso
from loyalty.store.uow import SqlUnitOfWork


@dataclass
class Outcome:
    """What one occurrence changed, ready to be written into the response body."""

    earned: int = 0
    pending: int = 0
    rewards: list[dict[str, Any]] = field(default_factory=list)
    offers: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    tier_before: str = ""
    tier_after: str = ""


def voucher_code() -> str:
    return secrets.token_hex(6).upper()


def metric_value(metric: str, stats: MemberStats, occurrence: Occurrence, earned: int) -> Decimal:
    """A tier metric as it stands once this occurrence is counted."""
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


class Applier:
    """Carries out the decisions of one evaluation for one locked member."""

    def __init__(self, uow: SqlUnitOfWork, book: RuleBook, member_row: Any, account: Account,
                 occurrence: Occurrence, recorded_at: datetime) -> None:
        self.uow = uow
        self.book = book
        self.row = member_row
        self.member: Member = uow.members.to_domain(member_row)
        self.account = account
        self.occ = occurrence
        self.now = recorded_at
        self.source_type = "transaction" if occurrence.kind in {"purchase", "return"} else "event"
        self.member_changes: dict[str, Any] = {}

    def source(self, decision: Decision | None = None, **extra: Any) -> Source:
        return Source(
            self.source_type, self.occ.source_id, self.occ.occurred_at,
            rule_id=decision.rule_id if decision else extra.get("rule_id"),
            ruleset_version=decision.ruleset_version if decision else extra.get("version"),
            campaign=decision.campaign if decision else extra.get("campaign"),
        )

    def run(self, stats: MemberStats) -> Outcome:
        occ = self.occ
        book = self.book
        decisions = book.evaluate(EvaluationInput(occ, self.member, stats, occ.occurred_at))
        decisions, points = apply_limits(self.uow, self.member.member_id, decisions, occ)
        out = Outcome(tier_before=self.member.tier, tier_after=self.member.tier)
        parts: list[tuple[int, str, Source]] = []
        views: list[dict[str, Any]] = []
        for index, decision in enumerate(decisions):
            value = points.get(index)
            views.append(decision_view(decision, value))
            if isinstance(decision.effect, AwardPoints | MultiplyPoints) and value:
                parts.append((value, decision.reason, self.source(decision)))
        out.decisions.extend(views)
        parts.extend(self.apply_presented_offers(sum(p for p, _, _ in parts), out))
        policy: PointsPolicy = book.policy.points
        lot = self.account.earn(
            parts, pending_until=occ.occurred_at + timedelta(days=policy.pending_days),
            expires_at=expiry_for(policy, occ.occurred_at),
        )
        out.earned = lot.earned if lot else 0
        out.pending = lot.earned if lot and lot.state == "pending" else 0
        for decision, view in zip(decisions, views, strict=True):
            self.apply_other(decision, out, view)
        ladder = book.policy.tiers
        if ladder is not None and occ.kind == "purchase":
            self.upgrade(ladder, metric_value(ladder.metric, stats, occ, out.earned), out)
        out.tier_after = self.member.tier
        return out

    def apply_presented_offers(self, base_points: int,
                               out: Outcome) -> list[tuple[int, str, Source]]:
        """Offers the member holds and presented now: bonus points or a multiplier, then used."""
        if not self.occ.offer_codes or self.occ.kind != "purchase":
            return []
        presented = set(self.occ.offer_codes)
        parts: list[tuple[int, str, Source]] = []
        programme = self.uow.programme
        for offer in programme.open_offers(self.member.member_id, self.occ.occurred_at):
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
                if offer.campaign:  # the campaign's budget counts what its offers give
                    key = budget_key(offer.campaign, offer.rule_id)
                    programme.lock_budget(key)
                    programme.spend_budget(key, value)
            programme.use_offer(offer.id, self.occ.occurred_at, self.occ.source_id)
            out.offers.append({"offer_code": offer.offer_code, "status": "used", "points": value,
                               "description": offer.description})
            out.decisions.append({"rule_id": offer.rule_id, "ruleset": "offers",
                                  "ruleset_version": offer.ruleset_version,
                                  "effect": "use_offer", "points": value, "reason": reason})
        return parts

    def in_stock(self, reward_id: str, quantity: int) -> bool:
        """Take `quantity` of a catalogue reward with a stock; False (nothing taken) when too
        few are left. A reward without a stock is never short."""
        reward = self.book.policy.reward(reward_id)
        if reward is None or reward.stock is None:
            return True
        programme = self.uow.programme
        if programme.lock_reward_counter(reward_id) + quantity > reward.stock:
            return False
        programme.add_redeemed(reward_id, quantity)
        return True

    def apply_other(self, decision: Decision, out: Outcome, view: dict[str, Any]) -> None:
        effect = decision.effect
        member_id = self.member.member_id
        at = self.occ.occurred_at
        common = {"member_id": member_id, "source_id": self.occ.source_id,
                  "rule_id": decision.rule_id, "ruleset_version": decision.ruleset_version}
        programme = self.uow.programme
        if isinstance(effect, GrantReward):
            if not self.in_stock(effect.reward_id, effect.quantity):
                view["reason"] = f"{view['reason']}; not given: {effect.reward_id} is out of stock"
                return
            code = voucher_code()
            valid_until = None
            if effect.valid_days:
                valid_until = (at + timedelta(days=effect.valid_days)).astimezone(UTC)
            programme.add_member_rewards([{
                **common, "reward_id": effect.reward_id, "quantity": effect.quantity,
                "voucher_code": code, "source_type": self.source_type,
                "campaign": decision.campaign, "points_spent": 0, "granted_at": at,
                "valid_until": valid_until,
            }])
            out.rewards.append({"reward_id": effect.reward_id, "rule_id": decision.rule_id,
                                "quantity": effect.quantity, "voucher_code": code,
                                "valid_until": iso(valid_until)})
        elif isinstance(effect, IssueOffer):
            valid_until = (at + timedelta(days=effect.valid_days)).astimezone(UTC)
            programme.add_offers([{
                "member_id": member_id, "offer_code": effect.offer_id, "benefit": effect.benefit,
                "value": effect.value, "description": effect.description or decision.reason,
                "status": "open", "issued_at": at, "valid_until": valid_until,
                "source_id": self.occ.source_id, "rule_id": decision.rule_id,
                "ruleset_version": decision.ruleset_version, "campaign": decision.campaign,
            }])
            out.offers.append({"offer_code": effect.offer_id, "status": "issued",
                               "benefit": effect.benefit, "value": str(effect.value),
                               "description": effect.description or decision.reason,
                               "valid_until": iso(valid_until), "rule_id": decision.rule_id})
        elif isinstance(effect, GrantPrivilege):
            valid_until = at + timedelta(days=effect.valid_days) if effect.valid_days else None
            programme.add_privileges([{**common, "privilege": effect.privilege, "granted_at": at,
                                       "valid_until": valid_until}])
        elif isinstance(effect, RevokePrivilege):
            programme.revoke_privilege(member_id, effect.privilege, at)
        elif isinstance(effect, SetTier):
            self.change_tier(effect.tier, decision.reason, decision.rule_id,
                             decision.ruleset_version)
        elif isinstance(effect, AddTag | RemoveTag):
            tags = [tag for tag in self.member.tags if tag != effect.tag]
            if isinstance(effect, AddTag):
                tags.append(effect.tag)
            self.member.tags = tuple(tags)
            self.member_changes["tags"] = tags
        elif isinstance(effect, Notify):
            programme.add_notifications([{**common, "notification": effect.notification,
                                          "message": effect.message or decision.reason,
                                          "created_at": at}])

    def upgrade(self, ladder: TierLadder, value: Decimal, out: Outcome) -> None:
        """Move up at once when the metric reaches a higher tier; never down mid-purchase."""
        target = ladder.qualifying_tier(value)
        if ladder.rank(target) > ladder.rank(self.member.tier):
            self.change_tier(target, f"qualified for {target}: {ladder.metric} reached {value}",
                             None, self.book.version)

    def change_tier(self, tier: str, reason: str, rule_id: str | None, version: str) -> None:
        if tier == self.member.tier:
            return
        self.uow.programme.add_tier_change({
            "member_id": self.member.member_id, "from_tier": self.member.tier, "to_tier": tier,
            "changed_at": self.occ.occurred_at, "reason": reason,
            "source_id": self.occ.source_id, "rule_id": rule_id, "ruleset_version": version,
        })
        self.member.tier = tier
        self.member_changes["tier"] = tier
        self.member_changes["tier_since"] = self.occ.occurred_at
        self.member_changes["tier_review_at"] = next_review(self.book.policy.tiers,
                                                            self.occ.occurred_at, tier)
        self.member_changes["tier_notice_for"] = None
