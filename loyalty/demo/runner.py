"""Running a demo's plan on the service, in time order, on a simulated clock: every step through
the write path the tills use, a sweep every week as of that day, and what depends on the
service's answers decided on the way (offers presented, points redeemed)."""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loyalty.demo import observe, till
from loyalty.demo.people import Person
from loyalty.demo.plan import Calendar, Step
from loyalty.demo.profiles import Profile
from loyalty.demo.shop import Shop
from loyalty.domain.errors import (
    InsufficientPoints,
    OutOfStock,
    RewardUnavailable,
    VoucherRefused,
)
from loyalty.domain.policy import ProgramPolicy
from loyalty.services import rewards
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import run_sweep

SWEEP_EVERY = timedelta(days=7)
#: The kinds of reward a member presents at the till (goods and partner gifts are collected
#: elsewhere).
PRESENTED = ("voucher", "service")
#: Members a sweep takes per transaction.
SWEEP_BATCH = 5000
#: How much more likely members higher on the pyramid are to redeem points they have.
REDEEM_WEIGHT = {"top": 1.5, "upper": 1.2, "regular": 1.0, "occasional": 0.6}
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Redemption:
    """Points a member means to spend on a reward, decided after a purchase."""

    at: datetime
    person: Person
    reward_id: str
    key: str


@dataclass
class Clock:
    """The simulated service clock: each write happens a second after what it records."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def reach(self, at: datetime) -> None:
        self.now = max(self.now, at + timedelta(seconds=1))


def sweep_instants(calendar: Calendar) -> list[datetime]:
    """A sweep every week from the start, as of 00:00 UTC that day, and one as of the end."""
    instants = []
    at = calendar.start + SWEEP_EVERY
    while at < calendar.end:
        instants.append(at)
        at += SWEEP_EVERY
    return [*instants, calendar.end]


@dataclass
class Runner:
    """Plays a plan on a service context whose clock it owns."""

    ctx: ServiceContext
    policy: ProgramPolicy
    shop: Shop
    profile: Profile
    calendar: Calendar
    seed: int
    counts: Counter[str] = field(default_factory=Counter)
    held: dict[str, set[str]] = field(default_factory=dict)
    vouchers: dict[str, list[tuple[str, datetime | None]]] = field(default_factory=dict)
    #: the stock left of each reward (None: unlimited), as of the last sweep less redemptions
    stock: dict[str, int | None] = field(default_factory=dict)
    _minds: dict[int, random.Random] = field(default_factory=dict)
    _queue: list[tuple[datetime, int, int, Any]] = field(default_factory=list)
    _order: int = 0

    def run(self, steps: Sequence[Step], progress: Progress | None = None) -> Counter[str]:
        clock = Clock(self.calendar.start)
        self.ctx.clock = clock
        for step in steps:
            self._push(step.at, step)
        for instant in sweep_instants(self.calendar):
            self._push(instant, instant, first=True)
        while self._queue:
            at, _, _, what = heapq.heappop(self._queue)
            clock.reach(at)
            if isinstance(what, Redemption):
                self._redeem(what)
                continue
            if isinstance(what, datetime):
                self._sweep(what)
            else:
                self._step(what)
            if progress is not None:
                progress(1)
        return self.counts

    def _push(self, at: datetime, what: Any, *, first: bool = False) -> None:
        self._order += 1
        heapq.heappush(self._queue, (at, 0 if first else 1, self._order, what))

    def _mind(self, person: Person) -> random.Random:
        """The member's own chances for what they decide on the way."""
        if person.index not in self._minds:
            self._minds[person.index] = random.Random(f"{self.seed}:mind:{person.index}")
        return self._minds[person.index]

    def _sweep(self, as_of: datetime) -> None:
        run_sweep(self.ctx, as_of, batch_size=SWEEP_BATCH)
        self.held = observe.open_offers(self.ctx, as_of)
        self.vouchers = observe.held_vouchers(self.ctx, as_of, frozenset(
            r.reward_id for r in self.policy.rewards if r.kind in PRESENTED))
        self.stock = {r["reward_id"]: r["stock_remaining"] for r in rewards.catalogue(self.ctx)}
        self.counts["sweeps"] += 1

    def _step(self, step: Step) -> None:
        if step.kind == "enrol":
            till.enrol(self.ctx, step)
            self.counts["enrolments"] += 1
        elif step.kind == "purchase":
            self._purchase(step)
        elif step.kind == "return":
            till.give_back(self.ctx, step)
            self.counts["returns"] += 1
        else:
            till.event(self.ctx, step, self.policy)
            self.counts[f"event:{step.event_type}"] += 1

    def _purchase(self, step: Step) -> None:
        member_id = step.person.member_id
        mind = self._mind(step.person)
        held = self.held.get(member_id, set())
        present = held and (step.comeback or mind.random() < self.profile.offer_chance)
        codes = tuple(sorted(held)) if present else ()
        vouchers = self._vouchers(member_id, step.at, mind)
        try:
            body = till.purchase(self.ctx, step, self.shop.currency, codes, vouchers)
        except VoucherRefused:  # taken back by a return since: the till goes on without it
            self.counts["vouchers_refused"] += 1
            vouchers = ()
            body = till.purchase(self.ctx, step, self.shop.currency, codes)
        self.counts["purchases"] += 1
        self.counts["vouchers_used"] += len(body.get("vouchers", ()))
        self.counts["comebacks"] += step.comeback
        held.difference_update(codes)
        for offer in body["offers"]:
            if offer.get("status") == "used":
                self.counts["offers_used"] += 1
            elif offer.get("status") == "issued":
                held.add(offer["offer_code"])
        if held:
            self.held[member_id] = held
        self._maybe_redeem(step, body, mind)

    def _vouchers(self, member_id: str, at: datetime, mind: random.Random) -> tuple[str, ...]:
        """The voucher a member presents, if they hold one still valid and mean to use it."""
        held = self.vouchers.get(member_id, [])
        valid = [code for code, until in held if until is None or until > at]
        if not valid or mind.random() >= self.profile.voucher_chance:
            return ()
        self.vouchers[member_id] = [(c, u) for c, u in held if c != valid[0]]
        return (valid[0],)

    def _maybe_redeem(self, step: Step, body: dict[str, Any], mind: random.Random) -> None:
        """After a purchase, a member with points for a reward may plan to redeem them once
        the purchase's points can be spent."""
        balance = body["balance"]
        points = balance["available"] + balance["pending"] - balance["debt"]
        affordable = [r for r in self.shop.rewards if r.points_cost and r.points_cost <= points
                      and self.stock.get(r.reward_id) != 0]
        chance = self.profile.redeem_chance * REDEEM_WEIGHT.get(step.person.segment, 1.0)
        if not affordable or mind.random() >= chance:
            return
        reward = mind.choice(affordable)
        wait = self.policy.points.pending_days + mind.uniform(1, 20)
        at = (step.at + timedelta(days=wait)).replace(microsecond=0)
        if at <= self.calendar.end:
            key = f"X-{step.key.removeprefix('T-')}"
            self._push(at, Redemption(at, step.person, reward.reward_id, key))

    def _redeem(self, redemption: Redemption) -> None:
        try:
            till.redeem(self.ctx, redemption.key, redemption.person.member_id,
                        redemption.reward_id, redemption.at)
        except (InsufficientPoints, OutOfStock, RewardUnavailable):
            self.counts["redemptions_refused"] += 1
        else:
            self.counts["redemptions"] += 1
            left = self.stock.get(redemption.reward_id)
            if left:
                self.stock[redemption.reward_id] = left - 1
