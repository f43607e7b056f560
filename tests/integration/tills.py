"""Tills for load and crash tests: each runs in a process of its own and sends purchases,
partial returns, redemptions, events, replays and reused keys at a few shared members over
HTTP, as a busy shop floor does, and logs every answer as one JSON line for the test to hold
against the database afterwards.

A till that gets no answer (the connection dropped, the service restarting) sends the same
request again under the same idempotency key, for as long as its plan allows, as a real till
does. Every till also sends, every few operations, a purchase that every other till sends
under the same key at about the same moment."""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

#: What a request got: acknowledged (2xx) and refused (an expected 4xx) are final answers;
#: replayed and conflict are the expected answers to a key sent again with the same or another
#: body; unanswered means no answer within the plan's retry time; anything else is unexpected.
ACKNOWLEDGED, REFUSED, REPLAYED, CONFLICT = "acknowledged", "refused", "replayed", "conflict"
UNANSWERED, UNEXPECTED = "unanswered", "unexpected"
#: Answers of a service that is not there at the moment: the request is sent again.
RETRY_STATUSES = frozenset({502, 503, 504})
#: The 4xx a redemption may rightly get when the points or the stock have run out.
REFUSALS = {"insufficient_points", "out_of_stock"}
REWARDS = ("FREE-CHECKUP", "CINEMA-PAIR")
Key = tuple[str, str]  # (scope, idempotency key)


@dataclass(frozen=True)
class TillPlan:
    """What one till does: `operations` requests (fewer if `stop` is set first)."""

    till: int
    base_url: str
    key: str
    members: tuple[str, ...]
    log: str
    seed: int
    operations: int
    run: str  # unique per test run: keys of two runs never meet
    shared_at: str  # the business time of the purchases every till sends under one key
    retry_seconds: float = 0.0  # how long a request with no answer is sent again (0: never)
    shared_every: int = 8


@dataclass
class Request:
    scope: str  # transaction, event or redemption: the idempotency key's scope
    key: str
    member: str
    path: str
    body: dict[str, Any]
    kind: str


@dataclass
class Answer:
    status: int | None
    body: Any
    replayed: bool
    attempts: int
    failures: list[str] = field(default_factory=list)  # why each earlier attempt got no answer


@dataclass
class Till:
    """A till's memory: what it sent and what was acknowledged, to return and replay."""

    plan: TillPlan
    client: httpx.Client
    rng: random.Random
    acknowledged: list[tuple[Request, Answer]] = field(default_factory=list)
    filters_left: dict[str, int] = field(default_factory=dict)  # own purchase -> filters
    sequence: int = 0
    requests: int = 0

    def next_key(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}-{self.plan.run}-{self.plan.till}-{self.sequence}"


def now() -> str:
    return datetime.now(UTC).isoformat()


def purchase(key: str, member: str, occurred_at: str, mugs: int = 1) -> Request:
    lines = [{"sku": "FILTER-1", "category": "accessories", "quantity": 3, "unit_price": "49.50"},
             {"sku": "MUG", "category": "homeware", "quantity": mugs, "unit_price": "12.00"}]
    return Request("transaction", key, member, "/api/v1/transactions", {
        "transaction_id": key, "type": "purchase", "member_id": member,
        "occurred_at": occurred_at, "store_id": "S12", "channel": "store", "currency": "CNY",
        "lines": lines}, "purchase")


def _purchase(till: Till) -> Request:
    request = purchase(till.next_key("S"), till.rng.choice(till.plan.members), now())
    till.filters_left[request.key] = 3
    return request


def _partial_return(till: Till) -> Request:
    returnable = [key for key, left in till.filters_left.items() if left > 0
                  and any(r.key == key for r, _ in till.acknowledged)]
    if not returnable:
        return _purchase(till)
    original = till.rng.choice(returnable)
    till.filters_left[original] -= 1
    member = next(r.member for r, _ in till.acknowledged if r.key == original)
    key = till.next_key("R")
    return Request("transaction", key, member, "/api/v1/transactions", {
        "transaction_id": key, "type": "return", "member_id": member, "occurred_at": now(),
        "original_transaction_id": original, "lines": [{"sku": "FILTER-1", "quantity": 1}]},
        "return")


def _redemption(till: Till) -> Request:
    key = till.next_key("RD")
    member = till.rng.choice(till.plan.members)
    return Request("redemption", key, member, f"/api/v1/members/{member}/redemptions",
                   {"redemption_id": key, "reward_id": till.rng.choice(REWARDS),
                    "quantity": 1}, "redemption")


def _event(till: Till) -> Request:
    key = till.next_key("E")
    member = till.rng.choice(till.plan.members)
    body: dict[str, Any] = {"event_id": key, "type": "visit", "member_id": member,
                            "occurred_at": now()}
    if till.rng.random() < 0.5:
        body.update(type="complaint", attributes={"outcome": "upheld", "severity": "low"})
    return Request("event", key, member, "/api/v1/events", body, "event")


def altered(request: Request) -> Request:
    """The same key with another body: a till reusing a receipt number by mistake."""
    body = json.loads(json.dumps(request.body))
    if request.scope == "redemption":
        body["quantity"] += 1
    elif request.scope == "event":
        body["attributes"] = {"note": "another event"}
    elif body["type"] == "purchase":
        body["lines"][1]["quantity"] += 1
    else:
        body["lines"][0]["quantity"] += 1
    return Request(request.scope, request.key, request.member, request.path, body, "conflict")


def send(till: Till, request: Request) -> Answer:
    """POST the request; with no answer, send it again under the same key while allowed."""
    deadline = time.monotonic() + till.plan.retry_seconds
    failures: list[str] = []
    while True:
        till.requests += 1
        try:
            response = till.client.post(request.path, json=request.body)
        except httpx.TransportError as error:
            failures.append(f"{type(error).__name__}: {error}")
        else:
            if response.status_code not in RETRY_STATUSES or not till.plan.retry_seconds:
                try:
                    body = response.json()
                except ValueError:
                    body = response.text[:500]
                return Answer(response.status_code, body,
                              response.headers.get("Idempotent-Replayed") == "true",
                              len(failures) + 1, failures)
            failures.append(f"status {response.status_code}")
        if time.monotonic() >= deadline:
            return Answer(None, None, False, len(failures), failures)
        time.sleep(0.1 + 0.2 * till.rng.random())


def verdict(request: Request, answer: Answer, first: Answer | None = None) -> str:
    """How the answer compares with what a correct service gives."""
    if answer.status is None:
        return UNANSWERED
    code = answer.body.get("code") if isinstance(answer.body, dict) else None
    if request.kind == "replay":
        assert first is not None
        same = (answer.status, answer.body) == (first.status, first.body) and answer.replayed
        return REPLAYED if same else UNEXPECTED
    if request.kind == "conflict":
        return CONFLICT if answer.status == 409 and code == "idempotency_conflict" else UNEXPECTED
    if answer.status == 201:
        return ACKNOWLEDGED
    if request.scope == "redemption" and code in REFUSALS and answer.status in (409, 422):
        return REFUSED
    return UNEXPECTED


def _log(out: Any, till: Till, request: Request, answer: Answer, outcome: str) -> None:
    out.write(json.dumps({
        "till": till.plan.till, "kind": request.kind, "scope": request.scope,
        "key": request.key, "member": request.member, "status": answer.status,
        "body": answer.body, "replayed": answer.replayed, "attempts": answer.attempts,
        "failures": answer.failures, "verdict": outcome}) + "\n")
    out.flush()


def _next(till: Till, number: int) -> tuple[Request, Answer | None]:
    """The till's next request, and for a replay the answer to compare with."""
    plan = till.plan
    if plan.shared_every and number % plan.shared_every == 0:
        shared = number // plan.shared_every
        member = plan.members[shared % len(plan.members)]
        return purchase(f"SHARED-{plan.run}-{shared}", member, plan.shared_at), None
    roll = till.rng.random()
    if till.acknowledged and roll < 0.12:
        earlier, first = till.rng.choice(till.acknowledged)
        return Request(earlier.scope, earlier.key, earlier.member, earlier.path, earlier.body,
                       "replay"), first
    if till.acknowledged and roll < 0.18:
        return altered(till.rng.choice(till.acknowledged)[0]), None
    if roll < 0.50:
        return _purchase(till), None
    if roll < 0.68:
        return _partial_return(till), None
    if roll < 0.86:
        return _redemption(till), None
    return _event(till), None


def run_till(plan: TillPlan, stop: Any = None) -> None:
    """The body of a till process: `plan.operations` operations, or until `stop` is set."""
    headers = {"Authorization": f"Bearer {plan.key}"}
    with httpx.Client(base_url=plan.base_url, headers=headers, timeout=30) as client, \
            Path(plan.log).open("a", encoding="utf-8") as out:
        till = Till(plan, client, random.Random(plan.seed))
        for number in range(plan.operations):
            if stop is not None and stop.is_set():
                break
            request, first = _next(till, number)
            answer = send(till, request)
            outcome = verdict(request, answer, first)
            if outcome == ACKNOWLEDGED and request.kind != "replay":
                till.acknowledged.append((request, answer))
            _log(out, till, request, answer, outcome)
        out.write(json.dumps({"till": plan.till, "requests": till.requests}) + "\n")


@dataclass
class TillLogs:
    """Every answer the tills logged, and how many requests they sent (retries included)."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0

    @classmethod
    def read(cls, paths: list[Path]) -> TillLogs:
        logs = cls()
        for path in paths:
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                if "verdict" in row:
                    logs.answers.append(row)
                else:
                    logs.requests += row["requests"]
        return logs

    def with_verdict(self, *verdicts: str) -> list[dict[str, Any]]:
        return [row for row in self.answers if row["verdict"] in verdicts]

    def acknowledged(self) -> dict[Key, list[dict[str, Any]]]:
        """Each acknowledged write with every answer a till got for it."""
        writes: dict[Key, list[dict[str, Any]]] = defaultdict(list)
        for row in self.with_verdict(ACKNOWLEDGED):
            writes[row["scope"], row["key"]].append(row)
        return writes

    def retried(self) -> list[dict[str, Any]]:
        return [row for row in self.answers if row["attempts"] > 1]


class TillProcesses:
    """One OS process per plan; every one still running when the block ends is killed."""

    def __init__(self, plans: list[TillPlan], *, stop: bool = False) -> None:
        context = multiprocessing.get_context("spawn")  # nothing of the test process inherited
        self.plans = plans
        self.stop = context.Event() if stop else None
        self.processes = [context.Process(target=run_till, args=(plan, self.stop),
                                          name=f"till-{plan.till}") for plan in plans]

    def __enter__(self) -> TillProcesses:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(10)

    def join(self, seconds: float) -> TillLogs:
        """Wait for every till to finish (after asking them to stop, if they can be asked)."""
        if self.stop is not None:
            self.stop.set()
        deadline = time.monotonic() + seconds
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        stuck = [process.name for process in self.processes if process.exitcode != 0]
        assert not stuck, f"tills that did not finish cleanly: {stuck}"
        return TillLogs.read([Path(plan.log) for plan in self.plans])

    def acknowledged_so_far(self) -> int:
        return sum(Path(plan.log).read_text(encoding="utf-8").count(f'"{ACKNOWLEDGED}"')
                   for plan in self.plans if Path(plan.log).exists())
