"""Fixtures for engine tests: the shipped pack and snapshot builders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import read_rule_dir

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"
PROGRAM = "currency: CNY\n"


def with_program(files: dict[str, str]) -> dict[str, str]:
    """A rule set of `files` plus a minimal program.yaml."""
    return {"program.yaml": PROGRAM, **files}


@pytest.fixture
def pack() -> dict[str, str]:
    return read_rule_dir(RULES_DIR)


def snapshot(
    kind: str = "purchase",
    lines: tuple[tuple[str, str, int, str], ...] = (),
    when: datetime = datetime(2026, 5, 2, 15, tzinfo=UTC),
    member: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> EvaluationInput:
    """A snapshot with sensible defaults."""
    items = tuple(Line(sku, cat, qty, Decimal(price)) for sku, cat, qty, price in lines)
    total = sum((line.amount for line in items), Decimal(0))
    occurrence = Occurrence(kind, "t1", when, total, items, attributes=attributes or {})
    person = Member("m1", **{"birth_date": date(1990, 5, 3), **(member or {})})
    return EvaluationInput(occurrence, person, MemberStats(**(stats or {})), when)
