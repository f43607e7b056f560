"""How well the value models predict: a demo programme's history cut at a date, the models fitted
on what happened before it, their prediction of each member's spend over the period after it
compared with what the member actually spent then.

The history is a demo programme's (loyalty.demo: the same members, purchases and returns
`loyalty demo --pack PACK --members N --seed S` records), planned from the seed and written
straight into a fresh database's members and transactions, so that thousands of members take
seconds. The values are then worked out exactly as the sweep does (loyalty.services.value: the
summary SQL, the fit on a sample of at most `--sample` members, the prediction), as of the cut.

Printed, for the members who had bought by the cut:
- mean absolute error per member, and the mean actual spend to read it against;
- correlation (Pearson, and Spearman of ranks) between predicted and actual spend;
- total predicted against total actual;
- top-20% capture: the share of the period's actual spend made by the fifth of members the
  prediction ranks highest, beside the best possible share (the actual top fifth);
- the same figures for a naive prediction: each member spends in the period what they spent
  in the same length of time before the cut;
- the mean actual spend per member of each value segment given at the cut.

    python bench/clv_accuracy.py                                   # retail, 5,000 members
    python bench/clv_accuracy.py --pack appliances --members 20000 --holdout-days 180
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from sqlalchemy import BigInteger, func, insert, select, type_coerce

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty.demo.build import read_pack, span_days  # noqa: E402
from loyalty.demo.people import cast  # noqa: E402
from loyalty.demo.plan import Calendar, plan  # noqa: E402
from loyalty.demo.profiles import profile_for  # noqa: E402
from loyalty.demo.shop import open_shop  # noqa: E402
from loyalty.demo.yardstick import yardstick  # noqa: E402
from loyalty.domain.policy import ValuePolicy  # noqa: E402
from loyalty.services.members import bucket_of  # noqa: E402
from loyalty.services.value import Histories, fit_valuation, segment, values  # noqa: E402
from loyalty.store import member_value  # noqa: E402
from loyalty.store import tables as t  # noqa: E402
from loyalty.store.db import make_engine  # noqa: E402
from loyalty.store.migrate import upgrade  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)
CHUNK = 5000


def write_history(url: str, pack: str, members: int, seed: int) -> tuple[Any, datetime]:
    """A fresh database holding the demo's members and their purchases and returns; the
    engine and the demo's last instant."""
    files, policy = read_pack(pack)
    end = START + timedelta(days=span_days(policy))
    calendar = Calendar(START, end, lapsed_days=policy.lifecycle.lapsed_days,
                        return_days=max(2, min(policy.points.pending_days or 7, 30)))
    shop, profile, yard = open_shop(policy, files), profile_for(pack), yardstick(policy)
    people = cast(members, seed, calendar.start, calendar.span,
                  earliest_stop=calendar.lapsed_days + 40, shop=shop, yard=yard,
                  channels=shop.channels)
    steps = plan(people, shop, profile, yard, calendar, seed)
    engine = make_engine(url)
    upgrade(engine)
    member_rows = [{
        "member_id": p.member_id, "name": p.name, "enrolled_at": p.enrolled_at,
        "attributes": {}, "tags": [], "tier": "member", "vip": False,
        "lifecycle_stage": "new", "bucket": bucket_of(p.member_id), "categories": [],
        "created_at": p.enrolled_at} for p in people]
    last: dict[str, datetime] = {}
    tx_rows = []
    for step in steps:
        if step.kind not in ("purchase", "return"):
            continue
        sign = 1 if step.kind == "purchase" else -1
        if step.kind == "purchase":
            last[step.person.member_id] = step.at
        tx_rows.append({
            "transaction_id": step.key, "member_id": step.person.member_id, "type": step.kind,
            "occurred_at": step.at, "recorded_at": step.at, "total": sign * step.total,
            "currency": shop.currency, "points_earned": 0, "points_clawed_back": 0,
            "returned_total": Decimal(0),
            "original_transaction_id": step.original or None})
    for row in member_rows:
        row["last_purchase_at"] = last.get(row["member_id"])
    with engine.begin() as conn:
        for start in range(0, len(member_rows), CHUNK):
            conn.execute(insert(t.members), member_rows[start:start + CHUNK])
        purchases = [r for r in tx_rows if r["type"] == "purchase"]
        returns = [r for r in tx_rows if r["type"] == "return"]
        for rows in (purchases, returns):  # a return names its purchase
            for start in range(0, len(rows), CHUNK):
                conn.execute(insert(t.transactions), rows[start:start + CHUNK])
    return engine, end


def actual_spend(conn: Any, after: datetime, until: datetime) -> dict[str, float]:
    """Each member's spend net of returns in (after, until]."""
    tx = t.transactions.c
    rows = conn.execute(select(tx.member_id, func.sum(type_coerce(tx.total, BigInteger)))
                        .where(tx.occurred_at > after, tx.occurred_at <= until)
                        .group_by(tx.member_id))
    return {member_id: int(units) / 10_000 for member_id, units in rows}


def capture(ranking: np.ndarray, actual: np.ndarray, share: float = 0.2) -> float:
    """The share of all actual spend made by the top `share` of members by `ranking`."""
    count = max(1, round(len(actual) * share))
    top = np.argsort(-ranking, kind="stable")[:count]
    total = actual.sum()
    return float(actual[top].sum() / total) if total > 0 else 0.0


def figures(name: str, predicted: np.ndarray, actual: np.ndarray) -> list[str]:
    pearson = float(np.corrcoef(predicted, actual)[0, 1])
    spearman = float(stats.spearmanr(predicted, actual).statistic)
    return [
        f"{name}:",
        f"  mean absolute error per member  {np.mean(np.abs(predicted - actual)):12,.2f}",
        f"  correlation (Pearson)           {pearson:12.3f}",
        f"  correlation of ranks (Spearman) {spearman:12.3f}",
        f"  total predicted                 {predicted.sum():12,.0f}",
        f"  total actual                    {actual.sum():12,.0f}"
        f"   (predicted / actual {predicted.sum() / actual.sum():.3f})",
        f"  top-20% capture                 {capture(predicted, actual):12.3f}"
        f"   (best possible {capture(actual, actual):.3f})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pack", default="retail")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--holdout-days", type=int, default=180,
                        help="the period after the cut that is predicted")
    parser.add_argument("--sample", type=int, default=50_000,
                        help="value.sample_size: the most members the models are fitted on")
    parser.add_argument("--url", default=None,
                        help="database to write the demo into (default: a temporary SQLite "
                             "file); it must be empty")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = args.url or f"sqlite:///{folder.name}/clv.db"
    began = time.perf_counter()
    engine, end = write_history(url, args.pack, args.members, args.seed)
    cut = end - timedelta(days=args.holdout_days)
    print(f"{args.pack} demo, {args.members:,} members, seed {args.seed}: history from "
          f"{START.date()} to {end.date()}, cut at {cut.date()}, predicting "
          f"{args.holdout_days} days (written in {time.perf_counter() - began:.1f} s)")
    policy = ValuePolicy(horizon_days=args.holdout_days, current_days=args.holdout_days,
                         sample_size=args.sample)
    with engine.connect() as conn:
        began = time.perf_counter()
        valuation = fit_valuation(conn, policy, cut)
        fitted = time.perf_counter() - began
        assert valuation.model is not None, "nobody had bought by the cut"
        ids = list(conn.execute(select(t.members.c.member_id)
                                .order_by(t.members.c.member_id)).scalars())
        rows = member_value.summaries(conn, ids, cut, policy.current_days)
        began = time.perf_counter()
        histories = Histories.of(rows, cut)
        current, predicted = values(policy, valuation.model, histories)
        predicted_at = time.perf_counter() - began
        after = actual_spend(conn, cut, end)
        newcomers = sum(v for m, v in after.items()
                        if m not in {row.member_id for row in rows})
    actual = np.array([after.get(row.member_id, 0.0) for row in rows])
    print(f"fitted on {valuation.sample:,} members in {fitted:.2f} s; predicted "
          f"{len(rows):,} members in {predicted_at * 1000:.1f} ms; parameters "
          + ", ".join(f"{k} {v:.4g}" for k, v in valuation.model.parameters().items()))
    print(f"members who had bought by the cut: {len(rows):,}; their actual spend after it "
          f"{actual.sum():,.0f} (mean {actual.mean():,.2f}); members who first bought after "
          f"the cut spent {newcomers:,.0f} (no prediction for them)")
    for line in figures("the value models", predicted, actual):
        print(line)
    for line in figures(f"naive: the spend of the {args.holdout_days} days before the cut",
                        current, actual):
        print(line)
    by_segment: dict[str, list[float]] = defaultdict(list)
    for now_value, to_come, spent in zip(current.tolist(), predicted.tolist(), actual.tolist(),
                                         strict=True):
        by_segment[segment(policy, valuation, now_value, to_come)].append(spent)
    print("actual spend after the cut by the segment given at the cut:")
    for name in policy.segments.names:
        spent = by_segment.get(name, [])
        mean = sum(spent) / len(spent) if spent else 0.0
        print(f"  {name:<12} {len(spent):7,} members, mean {mean:12,.2f}")
    engine.dispose()
    folder.cleanup()


if __name__ == "__main__":
    main()
