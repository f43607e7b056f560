"""Delivering notifications to a real HTTP receiver on this machine: it fails and recovers, is
killed in the middle of a request and started again; every notification arrives signed,
duplicates carry the same id, what cannot be delivered within the retry period becomes a dead
letter, and a replay delivers it. The clock is injected: hours pass in milliseconds."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from loyalty.services.audit import Actor
from loyalty.services.context import ServiceContext
from loyalty.services.delivery import Deliverer, HttpSender, deliver
from loyalty.services.notifications import add_webhook, replay
from loyalty.store import tables as t
from tests.integration.receiver import Receiver

Auth = Callable[[str], dict[str, str]]
NOW = datetime(2026, 11, 21, 6, 3, tzinfo=UTC)
ADMIN = Actor("ops", "cli")
n = t.notifications.c


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(ctx: ServiceContext) -> Clock:
    clock = Clock()
    ctx.clock = clock
    return clock


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


def hook(ctx: ServiceContext, receiver: Receiver, **only: list[str]) -> str:
    added = add_webhook(ctx, receiver.url, kinds=only.get("kinds"),
                        channels=only.get("channels"), description=None, actor=ADMIN)
    receiver.secret = added["secret"]
    return str(added["endpoint_id"])


def members_buy_fridges(client: FlaskClient, auth: Auth, count: int) -> None:
    for i in range(count):
        member = f"M-{i:03d}"
        enrolled = client.post("/api/v1/members", json={
            "member_id": member, "name": f"Member {i}", "phone": f"+86138000001{i:02d}",
            "consents": {"sms": True}, "enrolled_at": "2025-01-01T00:00:00+08:00"},
            headers=auth("pos"))
        assert enrolled.status_code == 201, enrolled.json
        bought = client.post("/api/v1/transactions", json={
            "transaction_id": f"S-{i}", "type": "purchase", "member_id": member,
            "occurred_at": "2026-11-20T14:03:00+08:00",
            "lines": [{"sku": "FRIDGE-1", "category": "fridge", "quantity": 1,
                       "unit_price": "3999.00"}]}, headers=auth("pos"))
        assert bought.status_code == 201, bought.json


def statuses(ctx: ServiceContext) -> dict[str, str]:
    with ctx.engine.connect() as conn:
        return dict(conn.execute(select(n.notification_id, n.status)).all())  # type: ignore[arg-type]


def pending(ctx: ServiceContext) -> set[str]:
    return {key for key, status in statuses(ctx).items() if status == "pending"}


def test_every_notification_arrives_signed_through_failures_and_a_receiver_restart(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock,
        receiver: Receiver) -> None:
    members_buy_fridges(client, auth, 3)
    hook(ctx, receiver)
    queued = pending(ctx)
    assert len(queued) == 6  # a welcome and a gift-granted text message each
    deliverer = Deliverer(ctx, HttpSender(), clock=clock, jitter=lambda: 0.0)

    receiver.mode = "fail"  # the gateway answers 503
    assert deliverer.run_once(batch=50) == Counter(retry=6)
    assert deliverer.run_once(batch=50) == Counter()  # nothing is due before the backoff

    clock.advance(seconds=20)
    receiver.mode = "die"  # killed while reading the first request
    assert deliverer.run_once(batch=50) == Counter(retry=6)
    (cut_off,) = receiver.ids()[6:]  # it read one before it died; the rest found it gone

    receiver.mode = "ok"
    receiver.start()  # started again on the same port
    clock.advance(minutes=5)
    done = deliver(ctx, HttpSender(), clock=clock)
    assert done["delivered"] == 6
    assert pending(ctx) == set()
    assert set(statuses(ctx).values()) >= {"delivered"}

    arrivals = receiver.arrivals
    assert all(arrival.signed for arrival in arrivals)
    assert all(arrival.header_id == arrival.notification_id for arrival in arrivals)
    assert {a.notification_id for a in arrivals} == queued  # every one arrived
    times = Counter(receiver.ids())  # 503 then 200; the one cut off: 503, cut off, 200
    assert times == {key: 3 if key == cut_off else 2 for key in queued}
    for key in queued:  # a duplicate is the same notification: same id, same content
        bodies = [a.body for a in arrivals if a.notification_id == key]
        assert len({(b["message"], b["kind"], b["member_id"]) for b in bodies}) == 1
        attempts = [b["attempt"] for b in bodies]
        assert attempts == sorted(set(attempts)) and attempts[-1] == 3


def test_a_notification_becomes_a_dead_letter_after_the_retry_period_and_a_replay_delivers_it(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock,
        receiver: Receiver) -> None:
    members_buy_fridges(client, auth, 1)
    hook(ctx, receiver, kinds=["gift-granted"])
    receiver.stop()  # the gateway is away for more than a day
    deliverer = Deliverer(ctx, HttpSender(), clock=clock, jitter=lambda: 0.5)
    (gift,) = [key for key in pending(ctx)
               if statuses(ctx)[key] == "pending" and is_kind(ctx, key, "gift-granted")]
    while clock.now < NOW + timedelta(hours=23, minutes=59):
        deliverer.run_once(batch=10)
        clock.advance(minutes=7)
    assert statuses(ctx)[gift] == "pending"  # still within the 24 hours
    attempts = attempts_of(ctx, gift)
    assert 8 <= attempts <= 40  # backoff doubles up to an hour: not every 7 minutes
    clock.advance(hours=1)
    deliverer.run_once(batch=10)
    deliverer.run_once(batch=10)
    assert statuses(ctx)[gift] == "dead"
    with ctx.engine.connect() as conn:
        row = conn.execute(select(t.notifications).where(n.notification_id == gift)).one()
    assert "no answer" in row.last_error and row.attempts == attempts + 1

    receiver.start()
    replay(ctx, gift, ADMIN)
    assert deliver(ctx, HttpSender(), clock=clock)["delivered"] >= 1
    assert statuses(ctx)[gift] == "delivered"
    assert [a.signed for a in receiver.arrivals if a.notification_id == gift] == [True]


def attempts_of(ctx: ServiceContext, notification_id: str) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(select(n.attempts).where(
            n.notification_id == notification_id)).scalar_one())


def is_kind(ctx: ServiceContext, notification_id: str, kind: str) -> bool:
    with ctx.engine.connect() as conn:
        return conn.execute(select(n.notification).where(
            n.notification_id == notification_id)).scalar_one() == kind


class Dies:
    """A delivery process that dies (the process is killed) as it sends its first request."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        raise KeyboardInterrupt


def test_what_a_killed_delivery_process_took_is_delivered_by_another_once_its_lease_is_over(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock,
        receiver: Receiver) -> None:
    members_buy_fridges(client, auth, 2)
    hook(ctx, receiver)
    with pytest.raises(KeyboardInterrupt):
        Deliverer(ctx, Dies(), clock=clock).run_once(batch=50)
    survivor = Deliverer(ctx, HttpSender(), clock=clock)
    assert survivor.run_once(batch=50) == Counter()  # the dead one's lease still holds them
    clock.advance(seconds=ctx.settings.delivery_lease_seconds + 1)
    assert deliver(ctx, HttpSender(), clock=clock)["delivered"] == 4
    assert Counter(receiver.ids()).most_common(1)[0][1] == 1


def test_two_delivery_processes_at_once_send_each_notification_once(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock,
        receiver: Receiver) -> None:
    members_buy_fridges(client, auth, 6)
    hook(ctx, receiver)
    results: list[Counter[str]] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(deliver(ctx, HttpSender(), batch=2, clock=clock))

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sum(result["delivered"] for result in results) == 12
    assert sorted(Counter(receiver.ids()).values()) == [1] * 12


class Recorder:
    """A sender that answers 200 and remembers what it was given."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.bodies.append(body)
        return 200


def test_an_erased_member_is_never_sent_anything_and_a_withdrawn_consent_is_honoured(
        client: FlaskClient, auth: Auth, ctx: ServiceContext, clock: Clock,
        receiver: Receiver) -> None:
    members_buy_fridges(client, auth, 2)
    hook(ctx, receiver)
    with ctx.engine.begin() as conn:
        conn.execute(update(t.members).where(t.members.c.member_id == "M-000")
                     .values(erased_at=NOW))
        conn.execute(update(t.members).where(t.members.c.member_id == "M-001")
                     .values(consents={"sms": False}))
    sender = Recorder()
    counts = deliver(ctx, sender, clock=clock)
    assert counts == Counter(cancelled=2, suppressed=2)
    assert sender.bodies == []


def test_a_system_event_needs_no_consent_and_reaches_only_the_endpoint_for_it(
        ctx: ServiceContext, clock: Clock, receiver: Receiver,
        client: FlaskClient, auth: Auth) -> None:
    enrolled = client.post("/api/v1/members", json={"member_id": "M-VIP", "name": "Vi"},
                           headers=auth("pos"))
    assert enrolled.status_code == 201
    hook(ctx, receiver, channels=["system"])
    with ctx.engine.begin() as conn:
        conn.execute(update(t.members).where(t.members.c.member_id == "M-VIP")
                     .values(vip=True))
    response = client.post("/api/v1/transactions", json={
        "transaction_id": "S-VIP", "type": "purchase", "member_id": "M-VIP",
        "occurred_at": "2026-11-20T14:03:00+08:00",
        "lines": [{"sku": "MUG", "category": "homeware", "quantity": 1, "unit_price": "9"}]},
        headers=auth("pos"))
    assert response.status_code == 201, response.json
    granted = [x for x in response.json["notifications"] if x["notification"] == "vip-welcome"]
    assert {x["status"] for x in granted} == {"suppressed"}  # no consent to sms or email
    deliver(ctx, HttpSender(), clock=clock)
    kinds = Counter(a.body["kind"] for a in receiver.arrivals)
    assert kinds["privilege_granted"] == 4
    assert {a.body["channel"] for a in receiver.arrivals} == {"system"}
    privileges = {a.body["payload"]["privilege"] for a in receiver.arrivals
                  if a.body["kind"] == "privilege_granted"}
    assert "priority-service" in privileges
