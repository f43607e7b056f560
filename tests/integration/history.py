"""A recorded history made through the real write path: members enrolling, purchases, partial
and full returns, redemptions (and refused ones), offers presented and used, events, limits and
budgets reached, tier moves, a second rules version and sweeps between them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from loyalty.domain.commands import (
    EnrolMember,
    LineIn,
    PaymentIn,
    RecordEvent,
    RecordTransaction,
    Redeem,
)
from loyalty.domain.errors import LoyaltyError
from loyalty.services import events, members, rewards, transactions
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import run_sweep
from tests.integration.helpers import (
    SPRING_OFFER,
    fingerprint,
    limited_rule,
    spring_campaign,
    use_rules,
)

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
CATALOGUE = [
    ("FRIDGE-500L", "refrigerators", "4999.00"), ("OVEN-60", "kitchen", "2999.00"),
    ("KETTLE-1", "kitchen", "199.00"), ("MIXER-3", "kitchen", "649.50"),
    ("TV-55", "tv", "3999.00"), ("PHONE-X", "phones", "2499.00"), ("CABLE-2", "accessories",
                                                                     "29.90"),
    ("WASHER-8", "appliances", "3299.00"), ("VACUUM-S", "appliances", "1299.00"),
]
OFFER_CODES = ("WINBACK-500", "WINBACK-DOUBLE", "SPRING-200", "KEEP-TIER-300")
REDEEMABLE = ("FREE-CHECKUP", "EXTENDED-WARRANTY", "CINEMA-PAIR")


@dataclass
class History:
    """What was generated: counts, and the instants the period tests use."""

    wanted: int = 0
    transactions: int = 0
    purchases: int = 0
    returns: int = 0
    events: int = 0
    redemptions: int = 0
    refused: int = 0
    sweeps: int = 0
    second_version_at: datetime | None = None
    end: datetime = START
    bought: dict[str, tuple[str, dict[str, int]]] = field(default_factory=dict)
    mine: dict[str, list[str]] = field(default_factory=dict)


def spring_budget(transactions_wanted: int) -> int:
    """The spring campaign's budget: reached well before the history ends."""
    return 4 * transactions_wanted


def generate(ctx: ServiceContext, *, transactions_wanted: int, member_count: int = 60,
             seed: int = 7, days: int = 500) -> History:
    """Record about `transactions_wanted` purchases and returns over `days` days."""
    rng = random.Random(seed)
    now = [START]
    ctx.clock = lambda: now[0]
    extra = {"monthly": limited_rule("monthly-bonus", "{times: 2, per: month}", points=25),
             "spring": spring_campaign(spring_budget(transactions_wanted)),
             "spring_survey": SPRING_OFFER}
    use_rules(ctx, **extra)
    history = History(wanted=transactions_wanted)
    ids = [f"M-{i:04d}" for i in range(member_count)]
    for i, member_id in enumerate(ids):
        at = START - timedelta(days=rng.randrange(0, 500), minutes=i)
        members.enrol(ctx, EnrolMember(
            member_id=member_id, name=f"Member {i}", email=f"{member_id.lower()}@example.com",
            birth_date=date(1960 + i % 40, 1 + i % 12, 1 + i % 28), enrolled_at=at,
            channel=("store", "app", "web")[i % 3], tags=("newsletter",) if i % 5 == 0 else ()))
    # Busy members buy often and reach the higher tiers; others drift away; some buy a lot at
    # first and then stop, so their tier is reviewed down a year later.
    weights = [rng.choice((1, 1, 2, 4, 12)) for _ in ids]
    bursts = set(ids[::6])
    per_day = max(1, transactions_wanted // days)
    second_at = START + timedelta(days=days // 2)
    next_sweep = START + timedelta(days=15)
    day = 0
    while history.transactions < transactions_wanted:
        base = START + timedelta(days=day)
        if day == 40:
            weights = [0.05 if member_id in bursts else w for member_id, w in zip(ids, weights,
                                                                                   strict=True)]
        elif day == 0:
            weights = [25 if member_id in bursts else w for member_id, w in zip(ids, weights,
                                                                                 strict=True)]
        if base >= second_at and history.second_version_at is None:
            now[0] = base
            use_rules(ctx, **{**extra, "monthly": limited_rule(
                "monthly-bonus", "{times: 3, per: month}", points=40)})
            history.second_version_at = base
        for n in range(per_day + rng.randrange(0, 3)):
            at = base + timedelta(minutes=7 * n + rng.randrange(0, 5), seconds=n)
            now[0] = at + timedelta(seconds=1)
            member_id = rng.choices(ids, weights)[0]
            _one(ctx, rng, history, member_id, at)
        day += 1
        if base + timedelta(days=1) >= next_sweep:
            as_of = next_sweep
            now[0] = as_of + timedelta(minutes=1)
            run_sweep(ctx, as_of)
            history.sweeps += 1
            next_sweep += timedelta(days=rng.choice((10, 20, 30)))
    history.end = now[0]
    return history


def _one(ctx: ServiceContext, rng: random.Random, history: History, member_id: str,
         at: datetime) -> None:
    roll = rng.random()
    mine = [tid for tid in history.mine.get(member_id, [])
            if any(history.bought[tid][1].values())]
    if roll < 0.12 and mine:
        _return(ctx, rng, history, member_id, rng.choice(mine[-6:]), at)
    elif roll < 0.17:
        _redeem(ctx, rng, history, member_id, at)
    elif roll < 0.24:
        _event(ctx, rng, history, member_id, at)
    else:
        _purchase(ctx, rng, history, member_id, at)


def _purchase(ctx: ServiceContext, rng: random.Random, history: History, member_id: str,
              at: datetime) -> None:
    tid = f"T-{history.transactions + 1:06d}"
    picked = rng.sample(CATALOGUE, rng.choice((1, 1, 2, 3)))
    lines = tuple(LineIn(sku=sku, category=category, quantity=rng.choice((1, 1, 2)),
                         unit_price=Decimal(price)) for sku, category, price in picked)
    offers = tuple(rng.sample(OFFER_CODES, 1)) if rng.random() < 0.25 else ()
    methods = ("card",) if rng.random() < 0.7 else ("cash", "points")
    cmd = RecordTransaction(
        transaction_id=tid, type="purchase", member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(tx=tid), lines=lines, currency="CNY", offer_codes=offers,
        channel=rng.choice(("store", "web", "app")), store_id=rng.choice(("SH-001", "BJ-002")),
        payments=tuple(PaymentIn(method=m, amount=Decimal("1")) for m in methods))
    transactions.record_transaction(ctx, cmd)
    history.bought[tid] = (member_id, {line.sku: line.quantity for line in lines})
    history.mine.setdefault(member_id, []).append(tid)
    history.transactions += 1
    history.purchases += 1


def _return(ctx: ServiceContext, rng: random.Random, history: History, member_id: str,
            original: str, at: datetime) -> None:
    _, left = history.bought[original]
    skus = [sku for sku, quantity in left.items() if quantity]
    full = rng.random() < 0.4
    back = {sku: (left[sku] if full else rng.randint(1, left[sku])) for sku in
            (skus if full else rng.sample(skus, 1))}
    tid = f"T-{history.transactions + 1:06d}"
    cmd = RecordTransaction(
        transaction_id=tid, type="return", member_id=member_id, occurred_at=at,
        fingerprint=fingerprint(tx=tid), original_transaction_id=original,
        lines=tuple(LineIn(sku=sku, quantity=quantity) for sku, quantity in back.items()))
    transactions.record_transaction(ctx, cmd)
    for sku, quantity in back.items():
        left[sku] -= quantity
    history.transactions += 1
    history.returns += 1


def _redeem(ctx: ServiceContext, rng: random.Random, history: History, member_id: str,
            at: datetime) -> None:
    rid = f"R-{history.redemptions + history.refused + 1:06d}"
    try:
        rewards.redeem(ctx, Redeem(redemption_id=rid, member_id=member_id,
                                   reward_id=rng.choice(REDEEMABLE), quantity=1,
                                   fingerprint=fingerprint(r=rid), occurred_at=at))
        history.redemptions += 1
    except LoyaltyError:
        history.refused += 1


def _event(ctx: ServiceContext, rng: random.Random, history: History, member_id: str,
           at: datetime) -> None:
    kind = rng.choice(("complaint", "survey", "referral", "service"))
    attributes: dict[str, Any] = {}
    if kind == "complaint":
        attributes = {"outcome": rng.choice(("upheld", "rejected")),
                      "severity": rng.choice(("low", "high"))}
    eid = f"E-{history.events + 1:06d}"
    events.record_event(ctx, RecordEvent(event_id=eid, type=kind, member_id=member_id,
                                         occurred_at=at, fingerprint=fingerprint(e=eid),
                                         attributes=attributes))
    history.events += 1
