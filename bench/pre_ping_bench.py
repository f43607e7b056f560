"""What checking pooled PostgreSQL connections before use costs a request (not a test).

Every pooled connection is pinged when it is taken from the pool, so that one left dead by a
database restart is replaced instead of failing a request. This measures the round trip a
ping costs (taking a connection and giving it back, with and without the ping), counts how
many times a purchase takes a connection, and times purchases through the app in process with
and without the ping.

    python bench/pre_ping_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from loyalty import create_app
from loyalty.services.keys import create_key
from loyalty.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent


def checkout_seconds(engine: Engine, rounds: int) -> float:
    """Median seconds to take a connection from the pool and give it back."""
    samples = []
    with engine.connect() as conn:  # one connection in the pool, warm
        conn.execute(text("SELECT 1"))
    for _ in range(rounds):
        started = time.perf_counter()
        with engine.connect():
            pass
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def purchases(url: str, pre_ping: bool, count: int) -> tuple[float, float]:
    """Median seconds per purchase through the app, and connections taken per purchase."""
    app = create_app({"database_url": url, "rules_dir": str(ROOT / "rules"),
                      "key_cache_seconds": 60})
    ctx = app.extensions["loyalty"]
    ctx.engine.pool._pre_ping = pre_ping
    taken = [0]

    @event.listens_for(ctx.engine, "checkout")
    def _count(*_args: Any) -> None:
        taken[0] += 1

    client = app.test_client()
    headers = {"Authorization": f"Bearer {create_key(ctx, 'pos', 'bench')[0]}"}
    member = client.post("/api/v1/members", json={"name": "Bench"}, headers=headers)
    member_id = member.get_json()["member_id"]
    samples = []
    for n in range(count + 20):
        body = {"transaction_id": f"B-{pre_ping}-{time.time_ns()}-{n}", "type": "purchase",
                "member_id": member_id, "occurred_at": datetime.now(UTC).isoformat(),
                "lines": [{"sku": "MUG", "category": "accessories", "quantity": 1,
                           "unit_price": "10.00"}]}
        if n == 20:
            taken[0] = 0  # the first twenty warm the caches
        started = time.perf_counter()
        response = client.post("/api/v1/transactions", json=body, headers=headers)
        if n >= 20:
            samples.append(time.perf_counter() - started)
        assert response.status_code == 201, response.get_json()
    ctx.engine.dispose()
    return statistics.median(samples), taken[0] / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--purchases", type=int, default=500)
    args = parser.parse_args()
    from loyalty.store.db import make_engine

    engine = make_engine(args.url)
    upgrade(engine)
    with_ping = checkout_seconds(engine, args.rounds)
    engine.pool._pre_ping = False
    without = checkout_seconds(engine, args.rounds)
    engine.dispose()
    print(f"taking a pooled connection: {without * 1e6:.0f} us without the ping, "
          f"{with_ping * 1e6:.0f} us with it ({(with_ping - without) * 1e6:.0f} us a ping)")
    for pre_ping in (False, True, False, True):
        seconds, taken = purchases(args.url, pre_ping, args.purchases)
        print(f"purchase {'with' if pre_ping else 'without'} the ping: median "
              f"{seconds * 1e3:.2f} ms, {taken:.1f} connections taken per purchase")


if __name__ == "__main__":
    main()
