"""The baseline, the floor and a purchase measured in one process, without HTTP or a server.

The CPU cost per request of the three endpoints of `bench/http_bench.py`, called through
Flask's test client in interleaved rounds so that a noisy machine slows all three alike. On a
shared machine these figures move far less than the HTTP ones, which also carry the load
generator, gunicorn and the scheduler.

    python bench/inprocess_bench.py                   # SQLite, and PostgreSQL if reachable
    python bench/inprocess_bench.py --db sqlite --requests 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.baseline_app import create_app as baseline_app
from bench.floor_app import create_app as floor_app
from bench.http_bench import (
    baseline_maker,
    prepare_all,
    purchase_maker,
    reset_postgres,
)

WARM_UP = 300


def client_for(app_factory: Callable[[], object], env: dict[str, str]) -> object:
    os.environ.update(env)
    app = app_factory()
    return app.test_client()  # type: ignore[attr-defined]


def measure(db: str, requests: int, rounds: int) -> dict[str, float]:
    """Milliseconds per request for each endpoint, the best round of each (the least noise)."""
    tmp = Path(tempfile.mkdtemp(prefix="loyalty-inprocess-"))
    service_env, key, baseline_url, floor_url = prepare_all(db, tmp)
    run = f"{int(time.time())}"
    auth = {"Authorization": f"Bearer {key}"}
    endpoints = {
        "baseline": (client_for(baseline_app, {"BASELINE_DATABASE_URL": baseline_url}),
                     baseline_maker(run), {}),
        "floor": (client_for(floor_app, {"FLOOR_DATABASE_URL": floor_url}),
                  purchase_maker(run + "f", "/floor"), {}),
        "purchase": (client_for(lambda: _service_app(service_env), {}),
                     purchase_maker(run), auth),
    }
    counters = dict.fromkeys(endpoints, 0)
    best = dict.fromkeys(endpoints, float("inf"))

    def call(name: str, count: int) -> float:
        client, make, headers = endpoints[name]
        began = time.perf_counter()
        for _ in range(count):
            counters[name] += 1
            path, body = make(counters[name])
            response = client.post(  # type: ignore[attr-defined]
                path, data=body, headers={**headers, "Content-Type": "application/json"}
            )
            if response.status_code != 201:
                raise RuntimeError(f"{name}: {response.status_code} {response.get_data()!r}")
        return (time.perf_counter() - began) / count * 1000

    for name in endpoints:
        call(name, WARM_UP)
    for _ in range(rounds):
        for name in endpoints:
            best[name] = min(best[name], call(name, requests))
    shutil.rmtree(tmp, ignore_errors=True)
    return best


def _service_app(env: dict[str, str]) -> object:
    os.environ.update(env)
    from loyalty import create_app

    return create_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        if db == "postgres" and not reset_postgres():
            print("\n== postgres == not reachable on 127.0.0.1:5432, skipped")
            continue
        ms = measure(db, args.requests, args.rounds)
        print(f"\n== {db} == (ms per request, best of {args.rounds} rounds of {args.requests})")
        print(json.dumps({name: round(value, 3) for name, value in ms.items()}))
        print(f"floor/baseline {ms['floor'] / ms['baseline']:.2f}x, "
              f"purchase/baseline {ms['purchase'] / ms['baseline']:.2f}x, "
              f"purchase/floor {ms['purchase'] / ms['floor']:.2f}x")


if __name__ == "__main__":
    main()
