"""`loyalty rules ...`: check rule files, and explain what they decide for an event."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from loyalty.domain.decisions import Decision
from loyalty.domain.errors import RulesInvalid
from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import build_rulebook, check_rules, explain, read_rule_dir
from loyalty.engine.rulebook import CompiledRuleBook, analyse


@click.group("rules")
def rules() -> None:
    """Check and explain the rule files marketing edits."""


def check_report(directory: str | Path) -> tuple[list[str], bool]:
    """The lines `rules check` prints for a directory, and whether it is clean."""
    files = read_rule_dir(directory)
    problems = check_rules(files)
    lines = [str(problem) for problem in problems]
    if problems:
        lines.append(
            f"{len(problems)} problem(s) in {len(files)} files: the rules were not activated"
        )
        return lines, False
    count = len(analyse(files).rules)
    lines.append(f"{len(files)} files, {count} rules: no problems")
    return lines, True


@rules.command("check")
@click.argument("directory", default="rules", type=click.Path(file_okay=False))
def check_command(directory: str) -> None:
    """Report every problem in the rule files of DIRECTORY (exit status 1 on any)."""
    try:
        lines, ok = check_report(directory)
    except FileNotFoundError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    for line in lines:
        click.echo(line)
    sys.exit(0 if ok else 1)


def _datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def occurrence_from_json(data: dict[str, Any]) -> Occurrence:
    """An Occurrence from its JSON form (kind, occurred_at, total, lines, ...)."""
    lines = tuple(
        Line(
            str(x["sku"]),
            str(x["category"]),
            int(x.get("quantity", 1)),
            Decimal(str(x["unit_price"])),
        )
        for x in data.get("lines", [])
    )
    return Occurrence(
        kind=data.get("kind", "purchase"),
        source_id=str(data.get("source_id", "explain")),
        occurred_at=_datetime(data["occurred_at"]),
        total=Decimal(str(data.get("total", sum((x.amount for x in lines), Decimal(0))))),
        lines=lines,
        store_id=data.get("store_id"),
        channel=data.get("channel"),
        currency=data.get("currency"),
        payment_methods=tuple(data.get("payment_methods", ())),
        offer_codes=tuple(data.get("offer_codes", ())),
        attributes=dict(data.get("attributes", {})),
    )


def member_from_json(data: dict[str, Any]) -> Member:
    """A Member from its JSON form (member_id, tier, vip, birth_date, ...)."""
    birth = data.get("birth_date")
    enrolled = data.get("enrolled_at")
    return Member(
        member_id=str(data.get("member_id", "explain")),
        birth_date=date.fromisoformat(birth) if birth else None,
        gender=data.get("gender"),
        region=data.get("region"),
        enrolled_at=_datetime(enrolled) if enrolled else None,
        channel=data.get("channel"),
        tier=data.get("tier", "member"),
        vip=bool(data.get("vip", False)),
        lifecycle_stage=data.get("lifecycle_stage", "new"),
        tags=tuple(data.get("tags", ())),
        attributes=dict(data.get("attributes", {})),
    )


def stats_from_json(data: dict[str, Any]) -> MemberStats:
    """MemberStats from its JSON form; money fields as numbers or strings."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("spend_") or key == "lifetime_spend":
            values[key] = Decimal(str(value))
        elif key == "categories_bought":
            values[key] = tuple(value)
        else:
            values[key] = value
    return MemberStats(**values)


def explain_lines(book: CompiledRuleBook, data: EvaluationInput) -> list[str]:
    """The plain-language lines `rules explain` prints for one snapshot."""
    decisions = book.evaluate(data)
    if not decisions:
        return [f"No rule fired for this {data.occurrence.kind} event."]
    points = _points(book, data, decisions)
    return explain(decisions, points, currency=book.policy.currency)


def _points(
    book: CompiledRuleBook, data: EvaluationInput, decisions: Sequence[Decision]
) -> dict[int, int] | None:
    try:
        effects = importlib.import_module("loyalty.domain.effects")
        resolved = effects.resolve_points(decisions, data.occurrence)
    except Exception:  # the points calculator is optional here: explain without figures
        return None
    if isinstance(resolved, dict):
        return {int(k): int(v) for k, v in resolved.items()}
    if isinstance(resolved, list | tuple):
        return {i: int(v) for i, v in enumerate(resolved) if isinstance(v, int)}
    return None


def _read_json(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise click.BadParameter(f"{path} must hold a JSON object")
    return loaded


@rules.command("explain")
@click.option("--event", "event_file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--member", "member_file", required=True, type=click.Path(exists=True, dir_okay=False)
)
@click.option("--stats", "stats_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rules", "rules_dir", default="rules", type=click.Path(file_okay=False))
def explain_command(
    event_file: str, member_file: str, stats_file: str | None, rules_dir: str
) -> None:
    """Print which rules fire for an event and a member (JSON files), in plain language."""
    try:
        book = build_rulebook(read_rule_dir(rules_dir), "local")
    except RulesInvalid as error:
        for line in error.details.get("problems", []):
            click.echo(line, err=True)
        sys.exit(1)
    occurrence = occurrence_from_json(_read_json(event_file))
    data = EvaluationInput(
        occurrence,
        member_from_json(_read_json(member_file)),
        stats_from_json(_read_json(stats_file)),
        occurrence.occurred_at,
    )
    for line in explain_lines(book, data):
        click.echo(line)
