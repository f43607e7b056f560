"""Engine benchmark: evaluations per second and resident memory (not a test).

Run: PYTHONPATH=. python bench/engine_bench.py [--evaluations 100000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import build_rulebook, read_rule_dir
from loyalty.engine.rulebook import CompiledRuleBook

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ["appliances", "kitchen", "tv", "fridge", "audio", "phones"]


def rss_kib() -> int:
    """Resident memory of this process (VmRSS) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def generated_pack(count: int, seed: int = 7) -> dict[str, str]:
    """A ruleset of `count` varied purchase rules, typical of a large programme."""
    rng = random.Random(seed)
    rules = []
    for n in range(count):
        kind = n % 5
        when: Any
        if kind == 0:
            when = [{"fact": "event.total", "at_least": rng.randint(100, 20000)}]
        elif kind == 1:
            when = {"any_line": {"fact": "line.category", "is": rng.choice(CATEGORIES)}}
        elif kind == 2:
            when = [
                {"fact": "member.tier", "in": ["gold", "platinum"]},
                {"fact": "event.month", "is": rng.randint(1, 12)},
            ]
        elif kind == 3:
            spend = {"fact": "stats.spend_365d", "above": rng.randint(0, 50000)}
            when = {"none": [{"fact": "member.tags", "contains": f"t{n}"}, spend]}
        else:
            when = [
                {"fact": "event.weekday", "in": ["saturday", "sunday"]},
                {"fact": "member.region", "is": f"r{n % 7}"},
            ]
        rules.append(
            {
                "id": f"gen-{n}",
                "description": f"generated rule {n}",
                "priority": rng.randint(0, 500),
                "when": when,
                "then": [{"award_points": {"points": n + 1}}],
            }
        )
    document = {"ruleset": "generated", "on": ["purchase"], "rules": rules}
    return {"generated.yaml": yaml.safe_dump(document, sort_keys=False), **program()}


def program() -> dict[str, str]:
    """The bundled programme policy: a rule set is refused without one."""
    return {"program.yaml": (ROOT / "rules" / "program.yaml").read_text(encoding="utf-8")}


def purchase(rng: random.Random) -> EvaluationInput:
    """A typical purchase with 2-3 lines by a random member."""
    when = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(8, 21), tzinfo=UTC)
    lines = tuple(
        Line(
            f"SKU-{rng.randint(1, 999)}",
            rng.choice(CATEGORIES),
            rng.randint(1, 2),
            Decimal(rng.randint(20, 4000)),
        )
        for _ in range(rng.randint(2, 3))
    )
    occurrence = Occurrence(
        "purchase", "bench", when, sum((x.amount for x in lines), Decimal(0)), lines
    )
    member = Member(
        "m",
        tier=rng.choice(["member", "silver", "gold", "platinum"]),
        vip=rng.random() < 0.05,
        birth_date=date(1985, 3, 4),
        region=f"r{rng.randint(0, 6)}",
        tags=("t3",),
    )
    stats = MemberStats(
        spend_365d=Decimal(rng.randint(0, 60000)), lifetime_visits=rng.randint(0, 50)
    )
    return EvaluationInput(occurrence, member, stats, when)


def measure(label: str, book: CompiledRuleBook, evaluations: int) -> float:
    """Print evaluations per second and average decisions for one rule book."""
    rng = random.Random(1)
    inputs = [purchase(rng) for _ in range(500)]
    for data in inputs[:50]:
        book.evaluate(data)
    decisions = 0
    start = time.perf_counter()
    for n in range(evaluations):
        decisions += len(book.evaluate(inputs[n % len(inputs)]))
    elapsed = time.perf_counter() - start
    print(
        f"{label}: {evaluations / elapsed:,.0f} evaluations/s "
        f"({decisions / evaluations:.1f} decisions per evaluation, {evaluations} evaluations)"
    )
    return evaluations / elapsed


ONE_RULE = {
    "one.yaml": "ruleset: one\ndescription: d\non: [purchase]\nrules:\n"
    "  - id: only\n    description: d\n    then:\n      - award_points: {points: 1}\n"
}


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluations", type=int, default=100_000)
    args = parser.parse_args()
    default = build_rulebook(read_rule_dir(ROOT / "rules"), "bench")
    large = build_rulebook(generated_pack(200), "bench")
    floor = build_rulebook({**ONE_RULE, **program()}, "bench")
    base = measure("baseline: one rule that always fires", floor, 20_000)
    rate = measure("default pack", default, 20_000)
    big = measure("generated 200-rule pack", large, 5_000)
    print(f"ratios to the baseline: default pack {rate / base:.2f}x, "
          f"200-rule pack {big / base:.2f}x")
    before = rss_kib()
    measure("memory run, default pack", default, args.evaluations)
    after = rss_kib()
    print(
        f"resident memory: {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after "
        f"{args.evaluations} evaluations ({(after - before) / 1024:+.1f} MiB)"
    )


if __name__ == "__main__":
    main()
