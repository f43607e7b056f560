"""The scratch service a rehearsal runs in, and its steps: what tills and the sweep do, by the
service functions they use, on an in-memory database holding only the candidate rules."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import String, func, select

from loyalty.config import Settings
from loyalty.domain.commands import (
    Adjust,
    EnrolMember,
    LineIn,
    RecordEvent,
    RecordTransaction,
    Redeem,
)
from loyalty.domain.decisions import RuleBook
from loyalty.domain.policy import AttributeDef, ProgramPolicy
from loyalty.domain.relations import AddDate, AddRelative
from loyalty.engine import Problem, rules_content_hash
from loyalty.engine.loader import key_line, load_yaml
from loyalty.engine.problems import Reporter
from loyalty.engine.syntax import RuleDef, compares
from loyalty.services import adjustments, events, members, relations, rewards, transactions
from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.rehearsal import program_file
from loyalty.services.rulebooks import RuleBookProvider
from loyalty.services.sweep import run_sweep
from loyalty.services.timing import expiry_for
from loyalty.store import tables
from loyalty.store.db import make_engine

MEMBER = "REHEARSAL-1"
#: At most this many lines in the rehearsal's purchase (one per category or product named).
MAX_LINES = 20
LINE_PRICE = Decimal("100.00")
#: The largest purchase total the rehearsal makes to reach a rule's threshold.
MAX_TOTAL = Decimal(1_000_000)
#: The sweep is not rehearsed past this instant (the calendar ends at 9999).
LAST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)
Step = tuple[str, Callable[[], object]]


class Skipped(Exception):
    """A step that cannot run because an earlier one failed (no member, no purchase)."""


class Scratch:
    """A service on an in-memory database whose only version is the candidate set."""

    def __init__(self, files: Mapping[str, str], at: datetime,
                 book: RuleBook | None = None) -> None:
        self.files = dict(files)
        self.at = at.astimezone(UTC)
        self.now = self.at
        self.member_id: str | None = None
        self.purchase_id: str | None = None
        self.numbers = iter(range(1, 1_000_000))
        self.settings = Settings(database_url="sqlite://", rules_refresh_seconds=0.0,
                                 max_retries=0)
        self.engine = make_engine("sqlite://")
        tables.metadata.create_all(self.engine)
        rules = RuleBookProvider(self.engine, self.settings)
        if book is not None:
            rules.prepared(self.files, book)
        self.ctx = ServiceContext(settings=self.settings, engine=self.engine, rules=rules,
                                  clock=lambda: self.now)
        self.program_file = program_file(files)
        self._book: RuleBook | None = None

    def close(self) -> None:
        self.engine.dispose()

    @property
    def ready(self) -> bool:
        """Whether the rules are compiled and the member enrolled (the steps after that need
        both)."""
        return self._book is not None and self.member_id is not None

    @property
    def book(self) -> RuleBook:
        if self._book is None:
            self._book = self.ctx.book()
        return self._book

    @property
    def policy(self) -> ProgramPolicy:
        return self.book.policy

    def rule(self, rule_id: str) -> RuleDef | None:
        rules: tuple[RuleDef, ...] = getattr(self.book, "rules", ())
        return next((rule for rule in rules if rule.id == rule_id), None)

    def program_line(self, section: str) -> int | None:
        doc = load_yaml(self.files.get(self.program_file, ""), Reporter(self.program_file))
        return key_line(doc, section) if isinstance(doc, dict) and section in doc else None

    def next_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self.numbers)}"

    def oversized_texts(self) -> list[Problem]:
        """Every stored text longer than its column allows on PostgreSQL (SQLite keeps any
        length): at the rule that wrote it, else at program.yaml."""
        problems: list[Problem] = []
        with self.engine.connect() as conn:
            for table in tables.metadata.sorted_tables:
                for column in table.columns:
                    if not isinstance(column.type, String) or column.type.length is None:
                        continue
                    too_long = func.length(column) > column.type.length
                    rule_column = table.columns.get("rule_id")
                    picked = [column] + ([rule_column] if rule_column is not None else [])
                    row = conn.execute(select(*picked).where(too_long).limit(1)).first()
                    if row is not None:
                        problems.append(self._oversized(table.name, column.name,
                                                        column.type.length, row))
        return problems

    def _oversized(self, table: str, column: str, length: int, row: Any) -> Problem:
        text = str(row[0])
        message = (f"'{text[:40]}...' ({len(text)} characters) is longer than the "
                   f"{length} the database keeps for {table}.{column}: the till would fail "
                   "on PostgreSQL; use a shorter name")
        rule = self._writer(text, row[1] if len(row) > 1 else None)
        if rule is not None:
            return Problem(rule.file, rule.line, rule.id, message)
        return Problem(self.program_file, None, None, message)

    def _writer(self, text: str, rule_id: str | None) -> RuleDef | None:
        """The rule that wrote `text`: the row's rule, else one whose campaign it names."""
        rule = self.rule(rule_id) if rule_id else None
        rules: tuple[RuleDef, ...] = getattr(self.book, "rules", ())
        return rule or next((r for r in rules if r.campaign and r.campaign in text), None)


def steps(scratch: Scratch) -> Iterator[Step]:
    """The steps of a rehearsal, in order; each is run even when an earlier one failed."""
    at = scratch.at
    yield "storing the rules", lambda: _store(scratch)
    yield "compiling the rules", lambda: scratch.book
    yield "an enrolment", lambda: _enrol(scratch)
    yield "a purchase", lambda: _purchase(scratch, at, first=True)
    for event in scratch.policy.events if scratch._book is not None else ():
        yield f"a '{event.event_type}' event", partial(_event, scratch, event)
    yield "a spouse's birthday to remember", lambda: _important_date(scratch)
    yield "a points adjustment", lambda: _adjust(scratch)
    yield "a redemption", lambda: _redeem(scratch)
    yield "a return", lambda: _return(scratch)
    for instant in _sweep_instants(scratch) if scratch._book is not None else ():
        yield f"the sweep as of {instant.date().isoformat()}", partial(_sweep, scratch, instant)
    yield "a purchase after the sweep, with the offers held", lambda: _purchase(
        scratch, scratch.now, first=False)
    yield "a return of the rest of the first purchase", lambda: _return(scratch, whole=True)


def _need(value: str | None) -> str:
    """A prerequisite an earlier step made; Skipped when that step failed."""
    if value is None:
        raise Skipped
    return value


def _store(scratch: Scratch) -> None:
    with scratch.ctx.uow() as uow:
        uow.programme.add_rule_version({
            "version": 1, "content_hash": rules_content_hash(scratch.files),
            "files": scratch.files, "activated_at": scratch.at, "activated_by": "rehearsal",
            "effective_at": scratch.at, "reason": "rehearsal", "draft_id": None,
            "restores": None})
        uow.commit()


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _enrol(scratch: Scratch) -> None:
    at = scratch.at
    born = _birthday(at.date(), years=30)
    channel = "store" if "store" in scratch.policy.channels else scratch.policy.channels[0]
    members.enrol(scratch.ctx, EnrolMember(
        member_id=MEMBER, name="Rehearsal", birth_date=born, enrolled_at=at, channel=channel,
        tags=scratch.policy.vip.tags[:1]))
    scratch.member_id = MEMBER


def _important_date(scratch: Scratch) -> None:
    """A spouse whose birthday the first sweep (a day later) reminds the member of."""
    member_id = _need(scratch.member_id)
    ahead = scratch.policy.important_dates.remind_days_before
    day = (scratch.at + timedelta(days=1 + ahead)).date()
    relative_id = scratch.next_id("REL")
    relations.add_relative(scratch.ctx, AddRelative(relative_id, member_id, "spouse",
                                                    "Rehearsal", _fingerprint(relative_id)))
    date_id = scratch.next_id("DATE")
    relations.add_date(scratch.ctx, AddDate(date_id, member_id, "birthday", day.month, day.day,
                                            _fingerprint(date_id), relative_id=relative_id))


def _birthday(day: date, *, years: int) -> date:
    """The same day `years` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _lines(rules: tuple[RuleDef, ...], policy: ProgramPolicy) -> tuple[LineIn, ...]:
    """A line for each category and product the rules test, then one to reach the largest
    purchase total a rule tests for, or the spend of the highest tier or of a VIP."""
    categories: list[str] = []
    skus: list[str] = []
    highest = Decimal(0)
    if policy.tiers is not None and "spend" in policy.tiers.metric:
        highest = policy.tiers.levels[-1].threshold
    if policy.vip.min_value is not None and "spend" in policy.vip.metric:
        highest = max(highest, policy.vip.min_value)
    for rule in rules:
        tests = compares(rule.when) + [t for e in rule.effects for t in compares(e.on_lines)]
        for test in tests:
            values = test.value if isinstance(test.value, tuple) else (test.value,)
            for value in values:
                if test.path == "line.category" and isinstance(value, str):
                    categories.append(value)
                elif test.path == "line.sku" and isinstance(value, str):
                    skus.append(value)
                elif test.path == "event.total" and isinstance(value, int | Decimal):
                    highest = max(highest, Decimal(value))
    lines = [LineIn(sku="REHEARSAL", category="general", quantity=1, unit_price=LINE_PRICE)]
    for category in dict.fromkeys(categories):
        lines.append(LineIn(sku=f"R-{len(lines)}", category=category, quantity=1,
                            unit_price=LINE_PRICE))
    for sku in dict.fromkeys(skus):
        lines.append(LineIn(sku=sku, category="general", quantity=1, unit_price=LINE_PRICE))
    lines = lines[:MAX_LINES]
    missing = min(highest, MAX_TOTAL) - LINE_PRICE * len(lines)
    if missing > 0:
        lines.append(LineIn(sku="R-TOTAL", category="general", quantity=1,
                            unit_price=missing + LINE_PRICE))
    return tuple(lines)


def _purchase(scratch: Scratch, at: datetime, *, first: bool) -> None:
    member_id = _need(scratch.member_id)
    policy = scratch.policy
    transaction_id = scratch.next_id("R-PURCHASE")
    rules: tuple[RuleDef, ...] = getattr(scratch.book, "rules", ())
    lines = _lines(rules, policy)
    channel = "store" if "store" in policy.channels else policy.channels[0]
    transactions.record_transaction(scratch.ctx, RecordTransaction(
        transaction_id=transaction_id, type="purchase", member_id=member_id,
        occurred_at=at, fingerprint=_fingerprint(transaction_id), lines=lines,
        store_id=policy.stores[0] if policy.stores else None, channel=channel,
        currency=policy.currency, offer_codes=() if first else _offers_held(scratch)))
    if first:
        scratch.purchase_id = transaction_id


def _offers_held(scratch: Scratch) -> tuple[str, ...]:
    offers = tables.offers.c
    with scratch.engine.connect() as conn:
        codes = conn.execute(select(offers.offer_code).where(
            offers.member_id == scratch.member_id, offers.status == "open")).scalars().all()
    return tuple(dict.fromkeys(codes))


def _attribute_value(attribute: AttributeDef, day: date) -> Any:
    return {"money": "100.00", "number": 1, "word": attribute.values[0] if attribute.values
            else "rehearsal", "yes/no": True, "date": day.isoformat(),
            "list": ["rehearsal"]}[attribute.type]


def _event(scratch: Scratch, event: Any) -> None:
    member_id = _need(scratch.member_id)
    event_id = scratch.next_id("R-EVENT")
    attributes = {a.name: _attribute_value(a, scratch.now.date()) for a in event.attributes}
    events.record_event(scratch.ctx, RecordEvent(
        event_id=event_id, type=event.event_type, member_id=member_id,
        occurred_at=scratch.now, fingerprint=_fingerprint(event_id), attributes=attributes))


def _redeemable(scratch: Scratch) -> Any:
    day = scratch.now.date()
    priced = [r for r in scratch.policy.rewards if r.points_cost is not None
              and (r.valid_from is None or r.valid_from <= day)
              and (r.valid_until is None or day <= r.valid_until)]
    return min(priced, key=lambda r: r.points_cost or 0, default=None)


def _adjust(scratch: Scratch) -> None:
    member_id = _need(scratch.member_id)
    reward = _redeemable(scratch)
    points = max(1_000, reward.points_cost if reward is not None else 0)
    adjustment_id = scratch.next_id("R-ADJUST")
    adjustments.adjust(scratch.ctx, Adjust(
        adjustment_id=adjustment_id, member_id=member_id, points=points,
        reason="rehearsal", fingerprint=_fingerprint(adjustment_id)),
        Actor("rehearsal", "system"))


def _redeem(scratch: Scratch) -> None:
    member_id = _need(scratch.member_id)
    reward = _redeemable(scratch)
    if reward is None:
        return
    redemption_id = scratch.next_id("R-REDEEM")
    rewards.redeem(scratch.ctx, Redeem(
        redemption_id=redemption_id, member_id=member_id, reward_id=reward.reward_id,
        quantity=1, fingerprint=_fingerprint(redemption_id)))


def _return(scratch: Scratch, *, whole: bool = False) -> None:
    """The first line of the first purchase; with `whole`, every other line of it."""
    member_id, purchase_id = _need(scratch.member_id), _need(scratch.purchase_id)
    transaction_id = scratch.next_id("R-RETURN")
    bought = _lines(getattr(scratch.book, "rules", ()), scratch.policy)
    lines = tuple(LineIn(sku=line.sku, quantity=1) for line in bought[1:]) if whole \
        else (LineIn(sku=bought[0].sku, quantity=1),)
    if not lines:
        return
    transactions.record_transaction(scratch.ctx, RecordTransaction(
        transaction_id=transaction_id, type="return", member_id=member_id,
        occurred_at=scratch.now, fingerprint=_fingerprint(transaction_id), lines=lines,
        original_transaction_id=purchase_id))


def _sweep_instants(scratch: Scratch) -> list[datetime]:
    """A day later; when pending points become available; after the first tier review and its
    grace; past each lifecycle stage; after the points of the purchase expire."""
    policy, at = scratch.policy, scratch.at
    days = [1, policy.points.pending_days + 1]
    if policy.tiers is not None:
        days.append(366 + policy.tiers.grace_days + 1)
    stages = policy.lifecycle
    days += [stages.declining_days + 1, stages.lapsed_days + 1, stages.churned_days + 1]
    instants = {at + timedelta(days=d) for d in days}
    expiry = expiry_for(policy.points, at)
    if expiry is not None:
        instants.add(expiry + timedelta(days=1))
    return sorted(i for i in instants if i <= LAST_INSTANT)


def _sweep(scratch: Scratch, instant: datetime) -> None:
    scratch.now = instant
    run_sweep(scratch.ctx, instant)
