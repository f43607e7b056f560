"""Mutation testing of the modules where a wrong number costs money, with mutmut.

    python -m tests.mutation                      # every mutant; writes docs/mutation.md
    python -m tests.mutation --sample 40 --seed 7 # a random sample, as CI runs it

The modules and the tests that defend them are configured under `[tool.mutmut]` in
pyproject.toml. mutmut runs, for each mutant, only the tests that execute the mutated function.
A mutant that survives must be killed by a new test, or listed in
tests/mutation_equivalents.yaml with the reason it cannot change behaviour. The command exits 1
when any mutant of those modules survives unexplained (or is reached by no test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.yaml"
REPORT = ROOT / "docs" / "mutation.md"
LOG = ROOT / "mutants" / "run.log"
MUTMUT = [sys.executable, "-m", "mutmut"]
#: The first step of a sampled run: generates every mutant, maps tests to functions, and
#: checks the tier policy's mutants (fast: plain functions with unit tests) in full.
FIRST = "loyalty.domain.tiers.*"
#: Statuses that count as caught: a failing test, a test that ran out of time (an endless loop).
CAUGHT = {"killed", "timeout", "caught by type check"}
SEPARATOR = "ǁ"
#: How many mutants run at once (LOYALTY_MUTATION_CHILDREN; default: one per core).
CHILDREN = int(os.environ.get("LOYALTY_MUTATION_CHILDREN", "0"))


@dataclass(frozen=True)
class Mutant:
    name: str
    status: str

    @property
    def module(self) -> str:
        return self.name.split(".x", 1)[0]

    @property
    def function(self) -> str:
        """`loyalty.domain.ledger.Account.earn` for `loyalty.domain.ledger.xǁAccountǁearn__...`."""
        module, mangled = self.name.split(".x", 1)
        mangled = mangled.rsplit("__mutmut_", 1)[0]
        parts = [p for p in mangled.split(SEPARATOR) if p] if SEPARATOR in mangled else [
            mangled.removeprefix("_")]
        return ".".join([module, *parts])


def mutmut(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MUTMUT, *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)


def run(*names: str) -> None:
    """`mutmut run` over `names` (all when none); its output goes to mutants/run.log (a
    terminal also sees its progress)."""
    children = ["--max-children", str(CHILDREN)] if CHILDREN else []
    command = [*MUTMUT, "run", *children, *names]
    if sys.stdout.isatty():
        done = subprocess.run(command, cwd=ROOT, check=False)
    else:  # a log (CI) gets no spinner, only the outcome
        LOG.parent.mkdir(exist_ok=True)
        with LOG.open("w") as log:
            done = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  check=False)
    if done.returncode != 0:
        if LOG.is_file() and not sys.stdout.isatty():
            print(LOG.read_text()[-5000:])
        sys.exit(f"mutmut run failed with exit code {done.returncode}")


def results() -> dict[str, Mutant]:
    listing = mutmut("results", "--all", "true").stdout
    found: dict[str, Mutant] = {}
    for line in listing.splitlines():
        match = re.match(r"^\s*(\S+__mutmut_\d+): (.+)$", line)
        if match:
            found[match[1]] = Mutant(match[1], match[2].strip())
    return found


def generated_names() -> list[str]:
    """Every mutant mutmut generated, from its bookkeeping next to the mutated copies."""
    names: list[str] = []
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        names.extend(json.loads(meta.read_text())["exit_code_by_key"])
    return sorted(names)


def changed_lines(name: str) -> tuple[str, str]:
    """The original and the mutated line of a mutant, from `mutmut show`."""
    diff = mutmut("show", name).stdout.splitlines()
    removed = [line[1:].strip() for line in diff
               if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff
             if line.startswith("+") and not line.startswith("+++")]
    return " ".join(removed), " ".join(added)


def load_equivalents() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = yaml.safe_load(EQUIVALENTS.read_text()) or []
    return entries


def explanation(mutant: Mutant, lines: tuple[str, str],
                equivalents: list[dict[str, str]]) -> str | None:
    for entry in equivalents:
        if (entry["function"] == mutant.function and entry["original"].strip() == lines[0]
                and entry["mutant"].strip() == lines[1]):
            return entry["why"]
    return None


@dataclass
class Verdicts:
    counts: dict[str, Counter[str]]
    equivalent: list[tuple[Mutant, tuple[str, str], str]]
    unexplained: list[tuple[Mutant, tuple[str, str]]]


def judge(mutants: list[Mutant]) -> Verdicts:
    equivalents = load_equivalents()
    verdicts = Verdicts({}, [], [])
    for mutant in mutants:
        tally = verdicts.counts.setdefault(mutant.module, Counter())
        tally["generated"] += 1
        if mutant.status in CAUGHT:
            tally["killed"] += 1
            continue
        if mutant.status == "not checked":
            tally["not checked"] += 1
            continue
        lines = changed_lines(mutant.name)
        why = explanation(mutant, lines, equivalents)
        if why is not None and mutant.status == "survived":
            tally["equivalent"] += 1
            verdicts.equivalent.append((mutant, lines, why))
        else:
            tally["unexplained"] += 1
            verdicts.unexplained.append((mutant, lines))
    return verdicts


def report(verdicts: Verdicts, command: str) -> str:
    rows = ["| module | generated | killed | equivalent | unexplained |", "|---|---|---|---|---|"]
    total: Counter[str] = Counter()
    for module, tally in sorted(verdicts.counts.items()):
        total.update(tally)
        rows.append(f"| `{module}` | {tally['generated']} | {tally['killed']} | "
                    f"{tally['equivalent']} | {tally['unexplained']} |")
    rows.append(f"| all | {total['generated']} | {total['killed']} | {total['equivalent']} | "
                f"{total['unexplained']} |")
    out = [
        "# Mutation testing report",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. A mutant is one",
        "small change to the code (a `>=` made `>`, a `0` made `1`, a line removed); a test",
        "suite that defends the code fails on it (the mutant is *killed*). Survivors are either",
        "*equivalent* (no input can tell them from the original, reason given) or a gap.",
        "",
        *rows,
        "",
        "## Equivalent mutants",
        "",
    ]
    for mutant, (old, new), why in sorted(verdicts.equivalent, key=lambda v: v[0].name):
        out += [f"- `{mutant.function}`: `{old}` -> `{new}`  ", f"  {why}"]
    out += ["", "## Unexplained survivors", ""]
    if not verdicts.unexplained:
        out.append("None.")
    for mutant, (old, new) in sorted(verdicts.unexplained, key=lambda v: v[0].name):
        out.append(f"- `{mutant.name}` ({mutant.status}): `{old}` -> `{new}`")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0,
                        help="test this many mutants picked at random (0: all)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random sample")
    parser.add_argument("--report", type=Path, default=None,
                        help=f"write the report here (default: {REPORT} for a full run)")
    args = parser.parse_args(argv)
    if args.sample:
        seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
        run(FIRST)
        pool = [name for name in generated_names() if not name.startswith(FIRST[:-1])]
        picked = random.Random(seed).sample(pool, min(args.sample, len(pool)))
        run(*picked)
        command = f"python -m tests.mutation --sample {args.sample} --seed {seed}"
        every = results()
        chosen = set(picked) | {n for n in every if n.startswith(FIRST[:-1])}
        mutants = [every[name] for name in sorted(chosen) if name in every]
    else:
        run()
        # Results are kept between runs while a function is unchanged; a survivor is tried again
        # so that a test added since can kill it.
        again = [m.name for m in results().values() if m.status not in CAUGHT]
        if again:
            run(*again)
        command = "python -m tests.mutation"
        mutants = list(results().values())
    verdicts = judge(mutants)
    text = report(verdicts, command)
    target = args.report or (None if args.sample else REPORT)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    summary: Counter[str] = Counter()
    for tally in verdicts.counts.values():
        summary.update(tally)
    print(f"mutants: {summary['generated']} generated, {summary['killed']} killed, "
          f"{summary['equivalent']} equivalent, {summary['unexplained']} unexplained, "
          f"{summary['not checked']} not checked ({command})")
    for mutant, (old, new) in verdicts.unexplained:
        print(f"  survived: {mutant.name} ({mutant.status}): {old!r} -> {new!r}")
    return 1 if verdicts.unexplained or summary["not checked"] else 0


if __name__ == "__main__":
    sys.exit(main())

