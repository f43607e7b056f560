"""A large recorded history for `bench/backtest_bench.py`, generated and loaded in bulk.

Members, their enrolments, purchases, partial and full returns of earlier purchases, and
events (complaints, surveys, referrals), each with its place in the history, over about two
years, written with SQLAlchemy Core `executemany` in chunks. Nothing is decided: the rows are
what the till would have recorded, with plausible points (1 per 1 CNY, clawed back in
proportion to what is returned) and, unless asked not to, the ledger's earn and claw-back
entries. The same seed gives the same history.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, text, update

from loyalty.engine import read_rule_dir, rules_content_hash
from loyalty.services.members import bucket_of
from loyalty.store import tables as t
from loyalty.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
CHUNK = 20_000
RETURN_SHARE = 0.12
EVENTS_PER_TRANSACTION = 0.04
#: a few members enrol on the first day; the rest one after another over the first year
FIRST_COHORT = 0.05
#: purchases a member may still return (the most recent ones not yet returned)
RETURNABLE = 8
#: category: (number of SKUs, lowest and highest unit price in CNY)
CATEGORIES = {
    "kitchen": (40, 39, 2999),
    "small-kitchen": (20, 29, 899),
    "appliances": (30, 499, 6999),
    "electronics": (40, 99, 8999),
    "audio": (20, 49, 2999),
    "homeware": (40, 9, 399),
}
CHANNELS = ("store", "store", "store", "web", "app")


@dataclass(frozen=True)
class Sku:
    sku: str
    category: str
    unit_price: Decimal


@dataclass
class Loaded:
    """What was loaded, and how long it took."""

    members: int = 0
    purchases: int = 0
    partial_returns: int = 0
    full_returns: int = 0
    events: int = 0
    lines: int = 0
    ledger_entries: int = 0
    start: datetime = START
    end: datetime = START
    seconds: float = 0.0
    event_types: dict[str, int] = field(default_factory=dict)

    @property
    def returns(self) -> int:
        return self.partial_returns + self.full_returns

    @property
    def transactions(self) -> int:
        return self.purchases + self.returns

    @property
    def occurrences(self) -> int:
        return self.members + self.transactions + self.events


def catalogue(rng: random.Random) -> list[Sku]:
    skus = []
    for category, (count, low, high) in CATEGORIES.items():
        for n in range(count):
            price = Decimal(f"{rng.randint(low, high)}.{rng.choice(('00', '50', '90'))}")
            skus.append(Sku(f"{category.upper()}-{n:03d}", category, price))
    return skus


@dataclass
class Bought:
    """A purchase a later return may name: its id and lines (sku, category, quantity, price)."""

    transaction_id: str
    lines: list[tuple[str, str, int, Decimal]]
    total: Decimal
    points: int


class HistoryWriter:
    """Buffers generated rows and writes them in chunks, parents before children."""

    ORDER = ("transactions", "transaction_lines", "events", "ledger_entries", "history")

    def __init__(self, engine: Engine, chunk: int) -> None:
        self.engine = engine
        self.chunk = chunk
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ORDER}
        self.statements = {name: insert(t.metadata.tables[name]) for name in self.ORDER}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows[table].append(row)
        if len(self.rows[table]) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        with self.engine.begin() as conn:
            for name in self.ORDER:
                if self.rows[name]:
                    conn.execute(self.statements[name], self.rows[name])
                    self.rows[name] = []


class Generator:
    """Generates the history in recorded order into a `HistoryWriter`."""

    def __init__(self, writer: HistoryWriter, *, transactions: int, members: int, seed: int,
                 ledger: bool) -> None:
        self.writer = writer
        self.rng = random.Random(seed)
        self.skus = catalogue(self.rng)
        self.wanted_transactions = transactions
        self.wanted_events = round(transactions * EVENTS_PER_TRANSACTION)
        self.member_count = members
        self.positions = members + transactions + self.wanted_events
        self.ledger = ledger
        self.loaded = Loaded()
        self.returnable: list[deque[Bought]] = [deque(maxlen=RETURNABLE) for _ in range(members)]
        self.returned: list[dict[str, Any]] = []
        self.returned_lines: list[dict[str, Any]] = []
        self.seq = 0

    # time and members
    def at(self, position: int) -> datetime:
        seconds = int(SPAN.total_seconds() * position / self.positions)
        return START + timedelta(seconds=seconds)

    def enrolment_position(self, k: int) -> int:
        first = max(1, int(self.member_count * FIRST_COHORT))
        if k < first:
            return k
        later = self.member_count - first
        return first + (k - first) * (self.positions // 2) // max(1, later)

    @staticmethod
    def member_id(k: int) -> str:
        return f"M{k:07d}"

    def member_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for k in range(self.member_count):
            member_id = self.member_id(k)
            enrolled = self.at(self.enrolment_position(k))
            rows.append({
                "member_id": member_id, "name": f"Member {k}", "email": None, "phone": None,
                "birth_date": date(1950 + k % 50, 1 + k % 12, 1 + k % 28),
                "gender": ("female", "male", None)[k % 3], "region": f"region-{k % 20}",
                "enrolled_at": enrolled, "channel": CHANNELS[k % len(CHANNELS)],
                "attributes": {}, "tags": [], "tier": "member", "tier_since": enrolled,
                "vip": False, "lifecycle_stage": "new", "bucket": bucket_of(member_id),
                "points_available": 0, "points_pending": 0, "points_debt": 0,
                "points_lifetime": 0, "lifetime_spend": 0, "lifetime_visits": 0,
                "categories": [], "created_at": enrolled,
            })
        return rows

    # the history
    def run(self) -> Loaded:
        enrolled = 0
        transactions_left, events_left = self.wanted_transactions, self.wanted_events
        for position in range(self.positions):
            at = self.at(position)
            if enrolled < self.member_count and position >= self.enrolment_position(enrolled):
                self.enrolment(enrolled, at)
                enrolled += 1
            elif self.rng.random() * (transactions_left + events_left) < events_left:
                self.event(self.rng.randrange(enrolled), enrolled, at)
                events_left -= 1
            else:
                self.transaction(self.rng.randrange(enrolled), enrolled, at)
                transactions_left -= 1
        self.loaded.members = enrolled
        self.loaded.end = self.at(self.positions - 1)
        self.writer.flush()
        return self.loaded

    def history(self, member_id: str, source_type: str, source_id: str, at: datetime) -> None:
        self.seq += 1
        self.writer.add("history", {"seq": self.seq, "member_id": member_id,
                                    "source_type": source_type, "source_id": source_id,
                                    "occurred_at": at})

    def event_row(self, event_id: str, member_id: str, kind: str, at: datetime,
                  attributes: dict[str, Any], origin: str | None) -> None:
        self.writer.add("events", {
            "event_id": event_id, "member_id": member_id, "type": kind, "occurred_at": at,
            "recorded_at": at, "attributes": attributes, "ruleset_version": "1",
            "origin": origin})
        self.history(member_id, "event", event_id, at)

    def enrolment(self, k: int, at: datetime) -> None:
        member_id = self.member_id(k)
        self.event_row(f"enrolment:{member_id}", member_id, "enrolment", at, {"tags": []},
                       "enrolment")

    def event(self, k: int, enrolled: int, at: datetime) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            kind = "complaint"
            attributes: dict[str, Any] = {
                "outcome": "upheld" if rng.random() < 0.4 else "rejected",
                "severity": "high" if rng.random() < 0.3 else "low"}
        elif roll < 0.8:
            kind, attributes = "survey", {"score": rng.randint(1, 10)}
        else:
            kind = "referral"
            attributes = {"referred_member": self.member_id(rng.randrange(enrolled))}
        self.loaded.events += 1
        self.loaded.event_types[kind] = self.loaded.event_types.get(kind, 0) + 1
        self.event_row(f"E{self.loaded.events:09d}", self.member_id(k), kind, at, attributes,
                       None)

    def transaction(self, k: int, enrolled: int, at: datetime) -> None:
        if self.rng.random() < RETURN_SHARE:
            for candidate in (k, *(self.rng.randrange(enrolled) for _ in range(3))):
                if self.returnable[candidate]:
                    self.return_of(candidate, at)
                    return
        self.purchase(k, at)

    def purchase(self, k: int, at: datetime) -> None:
        rng = self.rng
        member_id = self.member_id(k)
        tid = f"T{self.loaded.transactions + 1:09d}"
        count = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
        lines = [(s.sku, s.category, rng.choice((1, 1, 1, 2)), s.unit_price)
                 for s in rng.sample(self.skus, count)]
        total = sum((price * quantity for _, _, quantity, price in lines), start=Decimal("0"))
        points = int(total)
        self.writer.add("transactions", {
            "transaction_id": tid, "member_id": member_id, "type": "purchase",
            "occurred_at": at, "recorded_at": at, "store_id": f"S{rng.randint(1, 40):03d}",
            "channel": rng.choice(CHANNELS), "currency": "CNY", "total": total,
            "original_transaction_id": None, "ruleset_version": "1", "points_earned": points,
            "points_clawed_back": 0, "returned_total": Decimal("0"),
            "payment_methods": ["card"], "offer_codes": []})
        self.lines(tid, lines)
        if self.ledger:
            self.entry(member_id, "earn", points, tid, "base-earn",
                       "1 point for every 1 CNY spent", at)
        self.history(member_id, "transaction", tid, at)
        self.returnable[k].append(Bought(tid, lines, total, points))
        self.loaded.purchases += 1

    def return_of(self, k: int, at: datetime) -> None:
        rng = self.rng
        member_id = self.member_id(k)
        bought = self.returnable[k].popleft() if rng.random() < 0.5 \
            else self.returnable[k].pop()
        tid = f"T{self.loaded.transactions + 1:09d}"
        units = sum(quantity for _, _, quantity, _ in bought.lines)
        full = units == 1 or rng.random() < 0.5
        taken = [quantity if full else rng.randint(0, quantity)
                 for _, _, quantity, _ in bought.lines]
        if not full and sum(taken) in (0, units):
            taken = [1] + [0] * (len(taken) - 1)
        lines = [(sku, category, n, price)
                 for (sku, category, _, price), n in zip(bought.lines, taken, strict=True) if n]
        value = sum((price * n for _, _, n, price in lines), start=Decimal("0"))
        claw = min(bought.points, int(bought.points * value / bought.total))
        self.writer.add("transactions", {
            "transaction_id": tid, "member_id": member_id, "type": "return",
            "occurred_at": at, "recorded_at": at, "store_id": f"S{rng.randint(1, 40):03d}",
            "channel": "store", "currency": "CNY", "total": -value,
            "original_transaction_id": bought.transaction_id, "ruleset_version": "1",
            "points_earned": 0, "points_clawed_back": claw, "returned_total": Decimal("0"),
            "payment_methods": [], "offer_codes": []})
        self.lines(tid, lines)
        if self.ledger and claw:
            self.entry(member_id, "clawback", -claw, tid, "points.clawback",
                       f"return of purchase {bought.transaction_id}", at)
        self.history(member_id, "transaction", tid, at)
        self.returned.append({"b_id": bought.transaction_id, "b_total": value,
                              "b_claw": claw})
        for line_no, n in enumerate(taken):
            if n:
                self.returned_lines.append({"b_id": bought.transaction_id, "b_line": line_no,
                                            "b_quantity": n})
        if full:
            self.loaded.full_returns += 1
        else:
            self.loaded.partial_returns += 1

    def lines(self, tid: str, lines: list[tuple[str, str, int, Decimal]]) -> None:
        for line_no, (sku, category, quantity, price) in enumerate(lines):
            self.writer.add("transaction_lines", {
                "transaction_id": tid, "line_no": line_no, "sku": sku, "category": category,
                "quantity": quantity, "unit_price": price, "returned_quantity": 0})
        self.loaded.lines += len(lines)

    def entry(self, member_id: str, kind: str, points: int, source_id: str, rule_id: str,
              reason: str, at: datetime) -> None:
        self.writer.add("ledger_entries", {
            "member_id": member_id, "kind": kind, "bucket": "pending", "points": points,
            "lot_id": None, "source_type": "transaction", "source_id": source_id,
            "rule_id": rule_id, "ruleset_version": "1", "campaign": None, "reason": reason,
            "occurred_at": at, "recorded_at": at})
        self.loaded.ledger_entries += 1


def activate_bundled_rules(engine: Engine) -> None:
    """Rules version 1: the bundled rule files, active since before the history begins."""
    files = read_rule_dir(ROOT / "rules")
    with engine.begin() as conn:
        conn.execute(insert(t.rule_versions), [{
            "version": 1, "content_hash": rules_content_hash(files), "files": files,
            "activated_at": START - timedelta(days=1), "activated_by": "backtest_bench"}])


def mark_returned(engine: Engine, generator: Generator, chunk: int) -> None:
    """What each return took from its purchase: the purchase's returned total and points
    clawed back, and its lines' returned quantities."""
    tx, lines = t.transactions.c, t.transaction_lines.c
    purchases = (update(t.transactions).where(tx.transaction_id == bindparam("b_id"))
                 .values(returned_total=bindparam("b_total"),
                         points_clawed_back=bindparam("b_claw")))
    returned = (update(t.transaction_lines)
                .where(lines.transaction_id == bindparam("b_id"),
                       lines.line_no == bindparam("b_line"))
                .values(returned_quantity=bindparam("b_quantity")))
    for statement, rows in ((purchases, generator.returned),
                            (returned, generator.returned_lines)):
        for begin in range(0, len(rows), chunk):
            with engine.begin() as conn:
                conn.execute(statement, rows[begin:begin + chunk])


def load(engine: Engine, *, transactions: int, members: int, seed: int = 20260101,
         ledger: bool = True, chunk: int = CHUNK,
         say: Callable[[str], None] = print) -> Loaded:
    """Create the schema and load the history into an empty database."""
    began = time.perf_counter()
    upgrade(engine)
    activate_bundled_rules(engine)
    writer = HistoryWriter(engine, chunk)
    generator = Generator(writer, transactions=transactions, members=members, seed=seed,
                          ledger=ledger)
    rows = generator.member_rows()
    for begin in range(0, len(rows), chunk):
        with engine.begin() as conn:
            conn.execute(insert(t.members), rows[begin:begin + chunk])
    say(f"  {len(rows):,} members in {time.perf_counter() - began:.1f} s")
    loaded = generator.run()
    say(f"  {loaded.occurrences:,} occurrences in {time.perf_counter() - began:.1f} s")
    mark_returned(engine, generator, chunk)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # the seqs were given: move the sequence on
            last = conn.execute(select(func.max(t.history.c.seq))).scalar_one()
            conn.execute(text("SELECT setval(pg_get_serial_sequence('history', 'seq'), :n)"),
                         {"n": last})
        conn.exec_driver_sql("ANALYZE")
    loaded.seconds = time.perf_counter() - began
    return loaded
