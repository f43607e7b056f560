"""The database as the decision path's `State`: reads lock what they read (a member's row, a
budget, a reward's stock) until the unit of work ends, and `record` writes decided changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from loyalty.domain.history import EventHistory, Holding
from loyalty.domain.ledger import Account
from loyalty.domain.model import MemberStats
from loyalty.domain.policy import MetricDef
from loyalty.domain.referrals import Contacts
from loyalty.domain.vouchers import HeldReward
from loyalty.services.decide import Changes, HeldOffer, Holder, RecordedPurchase, SoldLine
from loyalty.services.notices import system_notifications
from loyalty.services.receipt import save_account
from loyalty.store import experiments, member_history, notifications, referrals
from loyalty.store.uow import SqlUnitOfWork


def held_reward(row: Any) -> HeldReward:
    """A member_rewards row as the decision path sees it."""
    return HeldReward(
        row.id, row.voucher_code, row.member_id, row.reward_id, row.quantity, row.source_type,
        row.source_id, row.granted_at, row.valid_until, row.rule_id, row.campaign, row.status,
        row.used_transaction_id, row.revoked_by, row.kept_by,
        None if row.source_lines is None else tuple(row.source_lines))


def holder_of(uow: SqlUnitOfWork, row: Any) -> Holder:
    return Holder(uow.members.to_domain(row), lifetime_spend=row.lifetime_spend,
                  lifetime_visits=row.lifetime_visits,
                  categories=tuple(row.categories or ()), last_purchase_at=row.last_purchase_at,
                  consents=getattr(row, "consents", None))


class SqlState:
    """Decides against, and records into, one unit of work. Members must be locked by the
    caller (the till's idempotent write, the sweep's batch) before they are decided for."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self.rows: dict[str, Any] = {}
        self.budgets_read: set[str] = set()
        self.stock_read: set[str] = set()

    def adopt(self, row: Any) -> Holder:
        """A member row the caller already read (and locked) for this write."""
        self.rows[row.member_id] = row
        return holder_of(self.uow, row)

    def member(self, member_id: str) -> Holder | None:
        row = self.uow.members.get(member_id)
        if row is None:
            return None
        return self.adopt(row)

    def referrer_of(self, friend: Holder) -> str | None:
        row = self.rows[friend.member_id]
        referrer = getattr(row, "referred_by", None)
        if not referrer or referrals.rewarded(self.uow.connection, friend.member_id):
            return None
        return str(referrer)

    def referring(self, member_id: str) -> Holder | None:
        survivor = referrals.survivor_id(self.uow.connection, member_id)
        row = None if survivor is None else self.uow.members.get(survivor, lock=True)
        if row is None or referrals.erased(row):
            return None
        return self.adopt(row)

    def contacts(self, member_id: str) -> Contacts:
        return referrals.contacts(self.uow.connection, member_id)

    def stats(self, member: Holder, as_of: datetime) -> MemberStats:
        return self.uow.transactions.stats(self.rows[member.member_id], as_of)

    def metric_figures(self, member: Holder, as_of: datetime,
                       metrics: Sequence[MetricDef]) -> dict[str, Decimal]:
        return self.uow.transactions.metric_figures(member.member_id, as_of, metrics)

    def event_history(self, member: Holder, as_of: datetime,
                      types: frozenset[str]) -> Mapping[str, EventHistory]:
        return member_history.event_history(self.uow.connection, member.member_id, as_of, types)

    def holdings(self, member: Holder, as_of: datetime) -> tuple[Holding, ...]:
        return member_history.member_holdings(self.uow.connection, member.member_id, as_of)

    def account(self, member: Holder, *, as_of: datetime | None) -> Account:
        return self.uow.ledger.account(self.rows[member.member_id], as_of=as_of)

    def usage(self, member_id: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        return self.uow.programme.usage(member_id, keys)

    def budget_spent(self, key: str) -> int:
        self.budgets_read.add(key)
        return self.uow.programme.lock_budget(key)

    def stock_used(self, reward_id: str) -> int:
        self.stock_read.add(reward_id)
        return self.uow.programme.lock_reward_counter(reward_id)

    def open_offers(self, member_id: str, as_of: datetime) -> Sequence[HeldOffer]:
        return [HeldOffer(o.id, o.offer_code, o.benefit, o.value, o.description, o.rule_id,
                          o.ruleset_version, o.campaign)
                for o in self.uow.programme.open_offers(member_id, as_of)]

    def purchase(self, transaction_id: str) -> RecordedPurchase | None:
        row = self.uow.transactions.get(transaction_id)
        if row is None:
            return None
        lines = tuple(SoldLine(x.line_no, x.sku, x.category, x.quantity, x.unit_price,
                               x.returned_quantity, x.unit_points)
                      for x in self.uow.transactions.lines(transaction_id))
        return RecordedPurchase(row.transaction_id, row.member_id, row.type, row.occurred_at,
                                row.total, row.currency, row.points_earned,
                                row.points_clawed_back, row.returned_total or Decimal("0"),
                                lines)

    def vouchers(self, codes: Sequence[str]) -> Mapping[str, HeldReward]:
        return {row.voucher_code: held_reward(row) for row in self.uow.programme.vouchers(codes)}

    def granted_rewards(self, transaction_id: str) -> Sequence[HeldReward]:
        return [held_reward(row) for row in self.uow.programme.purchase_rewards(transaction_id)]

    def record(self, changes: Changes, recorded_at: datetime) -> None:
        uow, programme, member_id = self.uow, self.uow.programme, changes.member_id
        occ = changes.occurrence
        for rule_id, key, points, existing in changes.usage:
            programme.add_usage(member_id, rule_id, key, points, existing=existing)
        for key, points in sorted(changes.budgets.items()):
            if points:
                if key not in self.budgets_read:
                    programme.lock_budget(key)
                programme.spend_budget(key, points)
        for reward_id, quantity in sorted(changes.stock.items()):
            if quantity:
                if reward_id not in self.stock_read:
                    programme.lock_reward_counter(reward_id)
                programme.add_redeemed(reward_id, quantity)
        for offer_key in changes.offers_used:
            programme.use_offer(offer_key, occ.occurred_at, occ.source_id)
        for reward_key in changes.vouchers_used:
            programme.use_reward(reward_key, occ.occurred_at, occ.source_id)
        for reward_key, outcome in changes.rewards_back:
            programme.take_back_reward(reward_key, outcome, occ.occurred_at, occ.source_id)
        programme.add_member_rewards(changes.rewards)
        programme.add_offers(changes.offers)
        programme.add_privileges(changes.privileges)
        revoked = [privilege for privilege in changes.revoked
                   if programme.revoke_privilege(member_id, privilege, occ.occurred_at)]
        for tier_change in changes.tier_changes:
            programme.add_tier_change(tier_change)
        experiments.add(uow.connection, changes.experiments)
        notifications.queue(uow.connection, [*changes.notifications,
                                             *system_notifications(changes, revoked)],
                            recorded_at)
        if changes.transaction is not None:
            uow.transactions.insert(changes.transaction, changes.lines)
        if changes.returned is not None:
            original_id, returned_now, values = changes.returned
            uow.transactions.set_returned(original_id, returned_now)
            uow.transactions.update(original_id, **values)
        if changes.event is not None:
            uow.transactions.insert_event(changes.event)
        if changes.adjustment is not None:
            uow.ledger.add_adjustment(changes.adjustment)
        if changes.history is not None:
            uow.history.append(member_id, changes.history, occ.source_id, occ.occurred_at)
        save_account(uow, changes.account, recorded_at, **changes.member)
        if changes.extend_expiry is not None:
            uow.ledger.extend_expiry(member_id, changes.extend_expiry)
