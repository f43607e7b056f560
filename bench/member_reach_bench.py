"""Notification delivery and the sweep's important-date reminders, each beside a baseline.

Delivery: N notifications (default 2,000), the welcome texts the bundled rules queue when
members who consent to text messages enrol, delivered by `deliver` with `HttpSender` to one
webhook endpoint: a threaded HTTP/1.1 receiver in this process that checks every
`Loyalty-Signature` (HMAC-SHA256 with the endpoint's secret) and answers 200. Baseline, in the
same run: the very bodies the receiver got, signed the same way with the same secret, POSTed
one after another by a plain loop with the same HTTP client to the same receiver. The ratio is
what delivery costs beyond signing and HTTP: claiming with a lease, reading the member and
their consent, recording the attempt and the outcome. Statements per notification are counted.

Important dates: the sweep's important-dates phase alone over M members (default 5,000), each
with a spouse whose birthday is a week ahead of the sweep day and two purchases in the last
year, so every member gets a reminder with suggested categories, usual spend and spend band.
Baseline, in the same run: the calendar phase alone over a copy of the same data, where every
member's own birthday is the sweep day. Each raises one event per member that the rules react
to (a notification, and an offer or a reward), so the ratio shows what the reminder's own work
adds. Both again at a tenth of the size, to show how the cost grows. Each measure starts from
an empty database.

    python bench/member_reach_bench.py                          # SQLite in a temporary directory
    python bench/member_reach_bench.py --db postgres            # resets the schema at --url
    python bench/member_reach_bench.py --quick                  # a small run, a few seconds
    python bench/member_reach_bench.py --notifications 5000 --members 20000 --batch-size 2000
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.app import build_context  # noqa: E402
from loyalty.config import Settings  # noqa: E402
from loyalty.domain.commands import EnrolMember  # noqa: E402
from loyalty.services.audit import Actor  # noqa: E402
from loyalty.services.context import ServiceContext  # noqa: E402
from loyalty.services.delivery import (  # noqa: E402
    ID_HEADER,
    SIGNATURE_HEADER,
    HttpSender,
    deliver,
    signature,
)
from loyalty.services.members import bucket_of, enrol  # noqa: E402
from loyalty.services.notifications import add_webhook  # noqa: E402
from loyalty.services.sweep import run_sweep  # noqa: E402
from loyalty.services.sweep.calendar import CalendarPhase  # noqa: E402
from loyalty.services.sweep.important_dates import ImportantDatesPhase  # noqa: E402
from loyalty.store import tables as t  # noqa: E402
from loyalty.store.db import make_engine  # noqa: E402
from loyalty.store.migrate import upgrade  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_h7"
#: The sweep's instant: every member's own birthday (calendar) is this day, every spouse's
#: birthday (important dates) a week later, the reminder's lead time in rules/program.yaml.
AS_OF = datetime(2026, 11, 23, tzinfo=UTC)
SPOUSE_BIRTHDAY = (11, 30)
BIRTH_DATE = date(1990, 11, 23)
#: Enrolled long enough ago that no membership anniversary falls on the sweep day.
ENROLLED_AT = AS_OF - timedelta(days=500)
WARM_UP = 20


# --- the database ---------------------------------------------------------------------------

class Databases:
    """A fresh, empty database for each measure: a new SQLite file, or the PostgreSQL schema
    dropped and made again."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.tmp = Path(tempfile.mkdtemp(prefix="loyalty-reach-"))
        self.made = 0

    def fresh(self, clock: datetime | None = None) -> ServiceContext:
        self.made += 1
        if self.kind == "sqlite":
            url = f"sqlite:///{self.tmp}/reach-{self.made}.db"
        else:
            url = self.url
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        ctx = build_context(Settings.from_env(database_url=url, rules_dir=str(ROOT / "rules")))
        upgrade(ctx.engine)
        if clock is not None:
            ctx.clock = lambda: clock
        ctx.book()  # activates the bundled rules
        return ctx

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextmanager
def counting(ctx: ServiceContext) -> Iterator[list[int]]:
    """Counts the SQL statements sent to the database while in the block."""
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)


# --- delivery -------------------------------------------------------------------------------

@dataclass
class Receiver:
    """A webhook endpoint on this machine: checks each request's signature as a receiver's
    own code would, keeps the body, answers 200 (HTTP/1.1, so connections are kept open)."""

    secret: str = ""
    bodies: list[bytes] = field(default_factory=list)
    bad: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                good = receiver.verify(self.headers.get(SIGNATURE_HEADER, ""), raw)
                with receiver.lock:
                    receiver.bodies.append(raw)
                    receiver.bad += not good
                self.send_response(200 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def verify(self, header: str, raw: bytes) -> bool:
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        if "t" not in parts or "v1" not in parts:
            return False
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + raw,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])

    def take(self) -> tuple[list[bytes], int]:
        """The bodies received and the count of bad signatures since the last take."""
        with self.lock:
            bodies, bad = self.bodies, self.bad
            self.bodies, self.bad = [], 0
        return bodies, bad

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def plain_posts(url: str, secret: str, bodies: list[bytes]) -> float:
    """The baseline: each body signed and POSTed by a loop with the same HTTP client."""
    sender = HttpSender()
    began = time.perf_counter()
    for number, body in enumerate(bodies):
        headers = {"Content-Type": "application/json", "User-Agent": "loyalty-webhooks/1",
                   ID_HEADER: f"baseline-{number}",
                   SIGNATURE_HEADER: signature(secret, int(time.time()), body)}
        status = sender.post(url, body, headers, 10.0)
        assert status == 200, status
    elapsed = time.perf_counter() - began
    sender.close()
    return elapsed


@dataclass
class DeliveryFigures:
    notifications: int
    deliver_s: float
    baseline_s: float
    statements: int
    mean_body: float
    outcomes: dict[str, int]


def measure_delivery(dbs: Databases, notifications: int, batch: int) -> DeliveryFigures:
    ctx = dbs.fresh()
    for i in range(notifications):
        enrol(ctx, EnrolMember(member_id=f"D{i:07d}", name=f"Member {i}",
                               phone=f"+86138{i:08d}", consents={"sms": True}))
    with ctx.uow(read_only=True) as uow:
        queued = uow.connection.execute(
            select(func.count()).select_from(t.notifications)
            .where(t.notifications.c.status == "pending")).scalar_one()
    assert queued == notifications, f"{queued} notifications queued, not {notifications}"
    receiver = Receiver()
    receiver.start()
    try:
        receiver.secret = add_webhook(ctx, receiver.url, kinds=None, channels=None,
                                      description="bench", actor=Actor("bench", "cli"))["secret"]
        plain_posts(receiver.url, receiver.secret, [b'{"warm":"up"}'] * WARM_UP)
        receiver.take()
        sender = HttpSender()
        with counting(ctx) as seen:
            began = time.perf_counter()
            outcomes = deliver(ctx, sender, batch=batch)
            deliver_s = time.perf_counter() - began
        sender.close()
        bodies, bad = receiver.take()
        assert outcomes["delivered"] == notifications, dict(outcomes)
        assert len(bodies) == notifications and bad == 0, (len(bodies), bad)
        baseline_s = plain_posts(receiver.url, receiver.secret, bodies)
        again, bad = receiver.take()
        assert len(again) == notifications and bad == 0, (len(again), bad)
    finally:
        receiver.stop()
        ctx.engine.dispose()
    return DeliveryFigures(notifications, deliver_s, baseline_s, seen[0],
                           sum(map(len, bodies)) / len(bodies), dict(outcomes))


# --- the sweep's important dates ------------------------------------------------------------

def populate(ctx: ServiceContext, members: int) -> None:
    """Members whose own birthday is the sweep day, each with a spouse whose birthday is a
    week later and two purchases (one line each, seven categories, varied totals) 10 and 11
    days before the sweep."""
    rows: dict[Any, list[dict[str, Any]]] = {
        t.members: [], t.transactions: [], t.transaction_lines: [],
        t.member_relatives: [], t.important_dates: []}
    for i in range(members):
        member_id = f"P{i:07d}"
        rows[t.members].append({
            "member_id": member_id, "name": f"Member {i}", "birth_date": BIRTH_DATE,
            "enrolled_at": ENROLLED_AT, "attributes": {}, "tags": [], "tier": "member",
            "tier_since": ENROLLED_AT, "vip": False, "lifecycle_stage": "mature",
            "bucket": bucket_of(member_id), "points_available": 0, "points_pending": 0,
            "points_debt": 0, "points_lifetime": 0, "lifetime_spend": 0, "lifetime_visits": 2,
            "categories": [], "created_at": ENROLLED_AT})
        for k in range(2):
            transaction_id = f"T{i:07d}-{k}"
            price = Decimal(100 + (i * 37 + k * 11) % 900)
            rows[t.transactions].append({
                "transaction_id": transaction_id, "member_id": member_id, "type": "purchase",
                "occurred_at": AS_OF - timedelta(days=10 + k), "recorded_at": AS_OF,
                "total": price, "points_earned": 0, "points_clawed_back": 0,
                "returned_total": 0})
            rows[t.transaction_lines].append({
                "transaction_id": transaction_id, "line_no": 1, "sku": f"SKU-{(i + k) % 7}",
                "category": f"category-{(i + k) % 7}", "quantity": 1, "unit_price": price,
                "returned_quantity": 0, "unit_points": 0})
        rows[t.member_relatives].append({
            "relative_id": f"R{i:07d}", "member_id": member_id, "relation": "spouse",
            "name": "Mei", "created_at": ENROLLED_AT})
        rows[t.important_dates].append({
            "date_id": f"B{i:07d}", "member_id": member_id, "kind": "birthday",
            "relative_id": f"R{i:07d}", "month": SPOUSE_BIRTHDAY[0], "day": SPOUSE_BIRTHDAY[1],
            "year": None, "created_at": ENROLLED_AT})
    with ctx.uow() as uow:
        for table, values in rows.items():
            uow.connection.execute(insert(table), values)
        uow.commit()


@dataclass
class SweepFigures:
    members: int
    seconds: float
    statements: int
    changed: dict[str, int]
    queued: int  # notifications the rules queued


def measure_phase(dbs: Databases, members: int, reminders: bool,
                  batch_size: int) -> SweepFigures:
    ctx = dbs.fresh(clock=AS_OF)
    populate(ctx, members)
    phase = ImportantDatesPhase() if reminders else CalendarPhase()
    try:
        with counting(ctx) as seen:
            began = time.perf_counter()
            report = run_sweep(ctx, AS_OF, phases=[phase], batch_size=batch_size)
            seconds = time.perf_counter() - began
        with ctx.uow(read_only=True) as uow:
            queued = uow.connection.execute(
                select(func.count()).select_from(t.notifications)).scalar_one()
    finally:
        ctx.engine.dispose()
    changed = dict(report["phases"][phase.name])
    raised = changed.get("reminders" if reminders else "birthdays", 0)
    assert raised == members and not changed.get("anniversaries"), changed
    return SweepFigures(members, seconds, seen[0], changed, queued)


# --- the report -----------------------------------------------------------------------------

def delivery_table(db: str, figures: DeliveryFigures) -> None:
    n = figures.notifications
    print(f"\nnotification delivery, {db}: {n:,} welcome texts to one endpoint "
          f"(bodies {figures.mean_body:.0f} bytes on average, every signature checked)")
    print(f"  {'':<38}{'seconds':>9}{'per second':>12}{'ms each':>9}{'statements each':>17}")
    print(f"  {'baseline: signed POSTs in a plain loop':<38}{figures.baseline_s:>9.2f}"
          f"{n / figures.baseline_s:>12,.0f}{1000 * figures.baseline_s / n:>9.2f}{'-':>17}")
    print(f"  {'deliver (HttpSender)':<38}{figures.deliver_s:>9.2f}"
          f"{n / figures.deliver_s:>12,.0f}{1000 * figures.deliver_s / n:>9.2f}"
          f"{figures.statements / n:>17.1f}")
    print(f"  deliver / baseline: {figures.deliver_s / figures.baseline_s:.1f}x; "
          f"outcomes {figures.outcomes}")


def sweep_table(db: str, batch_size: int, rows: list[tuple[SweepFigures, SweepFigures]]) -> None:
    print(f"\nsweep phase alone, {db}, batches of {batch_size:,}: one event per member")
    print(f"  {'members':>9}  {'phase':<30}{'seconds':>9}{'members/s':>11}"
          f"{'ms each':>9}{'statements each':>17}{'ratio':>8}")
    for base, reminders in rows:
        for name, one in (("baseline: calendar (birthdays)", base),
                          ("important dates (reminders)", reminders)):
            ratio = "" if one is base else f"{one.seconds / base.seconds:.1f}x"
            print(f"  {one.members:>9,}  {name:<30}{one.seconds:>9.2f}"
                  f"{one.members / one.seconds:>11,.0f}{1000 * one.seconds / one.members:>9.2f}"
                  f"{one.statements / one.members:>17.2f}{ratio:>8}")
    if len(rows) == 2:
        (big_base, big), (small_base, small) = rows
        growth = big.members / small.members
        print(f"  {growth:.0f}x the members: calendar {big_base.seconds / small_base.seconds:.1f}x"
              f" the time, important dates {big.seconds / small.seconds:.1f}x the time")
    base, reminders = rows[0]
    print(f"  at {base.members:,} members: calendar {base.changed}, "
          f"{base.queued / base.members:.1f} notifications queued each; important dates "
          f"{reminders.changed}, {reminders.queued / reminders.members:.1f} each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", default=POSTGRES_URL,
                        help="the PostgreSQL database (its public schema is dropped)")
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=2000,
                        help="members per sweep batch")
    parser.add_argument("--delivery-batch", type=int, default=50,
                        help="notifications claimed per delivery round")
    parser.add_argument("--quick", action="store_true",
                        help="200 notifications and 500 members: a few seconds")
    args = parser.parse_args()
    if args.quick:
        args.notifications, args.members = 200, 500
    dbs = Databases(args.db, args.url)
    began = time.perf_counter()
    try:
        print(f"delivering {args.notifications:,} notifications on {args.db} ...", flush=True)
        delivery = measure_delivery(dbs, args.notifications, args.delivery_batch)
        rows = []
        for members in (args.members, max(1, args.members // 10)):
            print(f"sweeping {members:,} members on {args.db} ...", flush=True)
            base = measure_phase(dbs, members, False, args.batch_size)
            reminders = measure_phase(dbs, members, True, args.batch_size)
            rows.append((base, reminders))
    finally:
        dbs.close()
    delivery_table(args.db, delivery)
    sweep_table(args.db, args.batch_size, rows)
    print(f"\n(whole run {time.perf_counter() - began:.0f} s, setup included)")


if __name__ == "__main__":
    main()
