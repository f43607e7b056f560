"""`loyalty rules ...`: check rule files, and explain what they decide for an event."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from loyalty.domain.errors import LoyaltyError, RulesInvalid, ValidationFailed
from loyalty.domain.history import EventHistory, Holding
from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import check_rules, read_rule_dir
from loyalty.engine.limits import FOLDER
from loyalty.engine.loader import read_rule_folder
from loyalty.engine.rulebook import CompiledRuleBook, analyse

T = TypeVar("T")


@click.group("rules")
def rules() -> None:
    """Check and explain the rule files marketing edits."""


def check_report(directory: str | Path) -> tuple[list[str], bool]:
    """The lines `rules check` prints for a directory, and whether it is clean: the files
    that cannot be read, then every problem of the others, rehearsal included."""
    from loyalty.services.versions import check_problems

    folder = read_rule_folder(directory)
    unread = {problem.file for problem in folder.problems}
    problems = [*folder.problems, *(
        problem for problem in (check_rules(folder.files) if folder.problems
                                else check_problems(folder.files))
        if not (problem.file == FOLDER and any(name in problem.message for name in unread)))]
    lines = [str(problem) for problem in problems]
    count = len(folder.files) + len(unread - {FOLDER})
    if problems:
        lines.append(f"{len(problems)} problem(s) in {count} files: the rules were not activated")
        return lines, False
    rules_count = len(analyse(folder.files).rules)
    lines.append(f"{count} files, {rules_count} rules: no problems")
    return lines, True


def read_folder(directory: str) -> dict[str, str]:
    """The rule files of DIRECTORY; exit status 2 when it is not a folder, 1 with every
    problem when a file cannot be read (a link out of it, too large, not UTF-8...)."""
    try:
        return read_rule_dir(directory)
    except FileNotFoundError as error:
        _fail(str(error), 2)
    except RulesInvalid as error:
        _fail(error.message, 1, error.details.get("problems", []))


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
        voucher_rewards=tuple(str(reward) for reward in data.get("vouchers_presented", ())),
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
        clv=_money_or_none(data.get("clv")),
        potential_value=_money_or_none(data.get("potential_value")),
        value_segment=data.get("value_segment"),
    )


def _money_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def stats_from_json(data: dict[str, Any]) -> MemberStats:
    """MemberStats from its JSON form; money fields as numbers or strings."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("spend_") or key == "lifetime_spend":
            values[key] = Decimal(str(value))
        elif key == "categories_bought":
            values[key] = tuple(value)
        elif key == "metrics":  # declared metrics' figures: {"nights_365d": 30, ...}
            values[key] = {name: Decimal(str(figure)) for name, figure in value.items()}
        elif key == "events":  # {"service": {"count_365d": 2, "days_since_last": 40}, ...}
            values[key] = {str(kind): EventHistory(**history) for kind, history in value.items()}
        elif key == "products":  # [{"sku": ..., "category": ..., "bought_at": ..., ...}]
            values[key] = tuple(Holding(str(x["sku"]), str(x["category"]),
                                        _datetime(x["bought_at"]), int(x.get("quantity", 1)))
                                for x in value)
        else:
            values[key] = value
    return MemberStats(**values)


def explain_lines(book: CompiledRuleBook, data: EvaluationInput) -> list[str]:
    """The plain-language lines `rules explain` prints for one snapshot."""
    from loyalty.services.rules import explain_snapshot

    result = explain_snapshot(book, data)
    return [*result["lines"], *(f"note: {note}" for note in result["notes"])]


class BadInput(Exception):
    """An input file that cannot be read as the JSON layout it should have."""


def _read_json(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot be read ({error})") from error
    except json.JSONDecodeError as error:
        raise BadInput(f"{path}: not valid JSON: {error.msg} at line {error.lineno}, "
                       f"column {error.colno}") from error
    if not isinstance(loaded, dict):
        raise BadInput(f"{path}: must hold a JSON object")
    return loaded


def _from_json(path: str | None, build: Callable[[dict[str, Any]], T]) -> T:
    data = _read_json(path)
    try:
        return build(data)
    except KeyError as error:
        raise BadInput(f"{path}: missing field {error}") from error
    except (ValueError, TypeError, ArithmeticError, AttributeError) as error:
        raise BadInput(f"{path}: {error}") from error


def _context() -> Any:
    from loyalty.cli_startup import command_context

    return command_context()


def _fail(message: str, status: int, problems: Sequence[str] = ()) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    for problem in problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(status)


@rules.command("explain")
@click.option("--event", "event_file", type=click.Path(exists=True, dir_okay=False),
              help="The event as a JSON file (layout in rules/README.md).")
@click.option("--transaction-id", help="A stored purchase, explained as recorded.")
@click.option("--event-id", help="A stored event, explained as recorded.")
@click.option("--member", "member_file", type=click.Path(exists=True, dir_okay=False),
              help="The member as a JSON file.")
@click.option("--member-id", help="A stored member: profile, statistics as of the event, "
              "and how often limited rules have applied.")
@click.option("--stats", "stats_file", type=click.Path(exists=True, dir_okay=False),
              help="The member's statistics as a JSON file (with --member).")
@click.option("--rules", "rules_dir", type=click.Path(file_okay=False),
              help="Rule folder to explain against (default with files only: rules).")
@click.option("--version", "version", type=int, help="A stored activated rules version.")
def explain_command(event_file: str | None, transaction_id: str | None, event_id: str | None,
                    member_file: str | None, member_id: str | None, stats_file: str | None,
                    rules_dir: str | None, version: int | None) -> None:
    """Print which rules fire for an event and a member, in plain language.

    The event is a JSON file (--event) or a stored purchase or event (--transaction-id,
    --event-id); the member is a JSON file (--member, --stats) or a stored member
    (--member-id). Rules: --rules DIR, else --version N, else for a stored purchase or event
    the version that recorded it, for a stored member the version in force, else the rules
    folder. A stored purchase or event is decided as its member stood just before it.
    """
    from loyalty.services import rules as service

    sources = [x for x in (event_file, transaction_id, event_id) if x is not None]
    if len(sources) != 1:
        _fail("give exactly one of --event, --transaction-id, --event-id", 2)
    if member_file is not None and member_id is not None:
        _fail("give --member or --member-id, not both", 2)
    if stats_file is not None and member_file is None:
        _fail("--stats goes with --member (a stored member's statistics are read)", 2)
    if rules_dir is not None and version is not None:
        _fail("give --rules or --version, not both", 2)
    stored = event_file is None or member_id is not None or version is not None
    ctx: Any = _context() if stored else None
    notes: list[str] = []
    files = None
    try:
        if rules_dir is not None or not stored:
            files = read_folder(rules_dir or "rules")
        if event_file is None:
            occurrence, owner, notes = service.stored_occurrence(
                ctx, transaction_id=transaction_id, event_id=event_id)
            if member_id is not None and member_id != owner:
                _fail(f"that {occurrence.kind} belongs to member {owner}, not {member_id}", 2)
        else:
            occurrence = _from_json(event_file, occurrence_from_json)
        if event_file is None and member_file is None:  # as its member stood then
            book = (service.rule_book(ctx, version=version, files=files)
                    if files is not None or version is not None else None)
            result = service.explain_stored(ctx, str(transaction_id or event_id), book)
        elif member_id is not None:
            book = service.rule_book(ctx, version=version, files=files)
            result = service.explain_member(ctx, book, member_id, occurrence)
        else:
            book = service.rule_book(ctx, version=version, files=files)
            data = EvaluationInput(
                occurrence,
                _from_json(member_file, member_from_json),
                _from_json(stats_file, stats_from_json),
                occurrence.occurred_at,
            )
            result = service.explain_snapshot(book, data)
    except BadInput as error:
        _fail(str(error), 2)
    except FileNotFoundError as error:
        _fail(str(error), 2)
    except RulesInvalid as error:
        _fail(error.message, 1, error.details.get("problems", []))
    except LoyaltyError as error:
        _fail(error.message, 2)
    if files is not None:
        click.echo(f"rules from the folder {rules_dir or 'rules'}")
    else:
        click.echo(f"rules version {result['ruleset_version']}")
    for line in [*result["lines"], *(f"note: {note}" for note in [*notes, *result["notes"]])]:
        click.echo(line)


@rules.command("show")
@click.argument("version", type=int)
@click.argument("file", required=False)
def show_command(version: int, file: str | None) -> None:
    """Print the files of activated rules VERSION (or only FILE of it)."""
    from loyalty.services.rules import get_version

    try:
        stored = get_version(_context(), version)
    except LoyaltyError as error:
        _fail(error.message, 1)
    files: dict[str, str] = stored["files"]
    if file is not None and file not in files:
        _fail(f"version {version} has no file {file!r} (it has {', '.join(sorted(files))})", 1)
    state = "in force" if stored["active"] else "not in force"
    click.echo(f"# rules version {version} ({state}), activated {stored['activated_at']} "
               f"by {stored['activated_by']}")
    for name in sorted(files) if file is None else [file]:
        click.echo(f"# ---- {name}")
        click.echo(files[name].rstrip("\n"))


def parse_moment(text: str, *, end: bool = False, dates: bool = True) -> datetime:
    """An ISO instant with its offset, or (with `dates`) an ISO date: the start of that day in
    UTC, or with `end` its last instant."""
    try:
        if dates and len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise click.BadParameter(f"not an ISO date or instant: {text!r}") from error
    if value.tzinfo is None:
        raise click.BadParameter("an instant needs its UTC offset, e.g. 2026-11-20T00:00+08:00")
    return value


@rules.command("backtest")
@click.argument("draft_dir", type=click.Path(file_okay=False))
@click.option("--from", "start", required=True,
              help="First day (ISO date, from 00:00 UTC) or instant of the period.")
@click.option("--to", "end", required=True,
              help="Last day (ISO date, to 23:59:59 UTC) or instant of the period.")
@click.option("--against", type=int,
              help="Compare with stored version N (default: the versions that were in force).")
@click.option("--ignore-windows", is_flag=True,
              help="Evaluate the draft's rules as if their from/until dates covered the period.")
@click.option("--shard", default="1/1", show_default=True,
              help="K/N: only members whose bucket %% N == K-1 (run shards in parallel).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Split the members into this many shards replayed side by side in as many "
                   "processes, then merge their reports.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]),
              default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def backtest_command(draft_dir: str, start: str, end: str, against: int | None,
                     ignore_windows: bool, shard: str, jobs: int, fmt: str,
                     output: str | None, quiet: bool) -> None:
    """Replay the recorded purchases, returns and events of a period against the draft rules
    in DRAFT_DIR and against the rules in force, and report what the draft would have cost.
    Nothing is written. Exit status 1 when the draft has problems, 2 on bad options."""
    from loyalty.services.backtest import Backtest, backtest_parallel
    from loyalty.services.backtest_report import render_html, render_json, render_table
    from loyalty.store.history import HistoryFilter, HistoryReader

    files = read_folder(draft_dir)
    try:
        index, _, count = shard.partition("/")
        which = HistoryFilter(shard_index=int(index), shard_count=int(count or 1))
        if not 1 <= which.shard_index <= which.shard_count <= 1024:
            raise ValueError
    except ValueError:
        _fail(f"--shard must be K/N with 1 <= K <= N <= 1024, not {shard!r}", 2)
    if jobs > 1 and which.shard_count > 1:
        _fail("give --shard or --jobs, not both", 2)
    ctx = _context()
    period: dict[str, Any] = {
        "start": parse_moment(start), "end": parse_moment(end, end=True), "against": against,
        "ignore_windows": ignore_windows, "label": f"{Path(draft_dir).name}/"}
    try:
        if jobs > 1:
            click.echo(f"backtest: {jobs} shards side by side", err=True)
            report = backtest_parallel(ctx, files, jobs=jobs, **period)
        elif quiet:
            report = Backtest(ctx, files, which=which, **period).run()
        else:
            run = Backtest(ctx, files, which=which, **period)
            total = HistoryReader(ctx.engine, which).count()
            with click.progressbar(length=total, label="backtest", file=sys.stderr) as bar:
                report = run.run(bar.update)
    except click.BadParameter:
        raise
    except RulesInvalid as error:
        _fail(error.message, 1, error.details.get("problems", []))
    except LoyaltyError as error:
        details = error.details.get("fields", {})
        _fail(" ".join([error.message, *(m for ms in details.values() for m in ms)]), 2)
    render = {"table": render_table, "json": render_json, "html": render_html}[fmt]
    text = render(report)
    if output is not None:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"backtest report written to {output}", err=True)
    else:
        click.echo(text, nl=False)


@rules.command("export")
@click.argument("version", type=int)
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files already in DIRECTORY.")
def export_command(version: int, directory: str, force: bool) -> None:
    """Write the files of rules VERSION into DIRECTORY byte for byte: read back, they have the
    same content hash."""
    from loyalty.services.rules import get_version

    try:
        stored = get_version(_context(), version)
    except LoyaltyError as error:
        _fail(error.message, 1)
    target = Path(directory)
    files: dict[str, str] = stored["files"]
    clashes = sorted(name for name in files if (target / name).exists())
    if clashes and not force:
        _fail(f"{directory} already has {', '.join(clashes)}: use --force to overwrite", 2)
    target.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (target / name).write_bytes(text.encode("utf-8"))
    others = sorted(p.name for p in target.glob("*.y*ml") if p.name not in files)
    click.echo(f"wrote {len(files)} files of version {version} "
               f"({stored['content_hash'][:12]}) to {directory}")
    if others:
        click.echo(f"warning: {directory} also holds {', '.join(others)}, which version "
                   f"{version} does not: remove them before drafting from this folder")


@rules.command("draft")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--note", default="", help="What the change is for, for whoever reviews it.")
@click.option("--replace", "draft_id", help="Replace the files of this draft instead.")
def draft_command(directory: str, note: str, draft_id: str | None) -> None:
    """Upload the rule files of DIRECTORY as a draft (checked at once; every problem is
    printed). Exit status 1 when it has problems: it is stored anyway, to be fixed."""
    from loyalty.services import workflow
    from loyalty.services.audit import cli_actor

    files = read_folder(directory)
    ctx = _context()
    try:
        if draft_id is None:
            draft = workflow.create_draft(ctx, files, note, cli_actor())
        else:
            draft = workflow.replace_draft(ctx, draft_id, files, note or None, cli_actor())
    except LoyaltyError as error:
        _fail(error.message, 1, error.details.get("problems", []))
    click.echo(f"draft {draft['draft_id']} ({draft['status']}): {len(draft['files'])} files, "
               f"{len(draft['problems'])} problem(s)")
    for problem in draft["problems"]:
        click.echo(f"  {problem}")
    sys.exit(0 if draft["valid"] else 1)


@rules.command("rollback")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why: kept in the audit log.")
def rollback_command(version: int, reason: str) -> None:
    """Make VERSION's exact content the rules in force again, as a new version with the same
    content hash."""
    from loyalty.services import workflow
    from loyalty.services.audit import cli_actor

    try:
        result = workflow.rollback(_context(), version, cli_actor(), "admin", reason)
    except LoyaltyError as error:
        _fail(error.message, 1)
    if not result["changed"]:
        click.echo(f"rules unchanged: version {result['version']} in force has the content "
                   f"of version {version} already")
        return
    click.echo(f"rolled back: version {result['version']} restores version {version} "
               f"({result['content_hash']})")
    for line in result["diff"]["lines"]:
        click.echo(f"  {line}")


@rules.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def diff_command(old: str, new: str, fmt: str) -> None:
    """Compare two versions (or a version and a draft d-...) rule by rule, in plain words."""
    from loyalty.services import workflow

    try:
        result = workflow.diff_versions(_context(), old, new)
    except ValidationFailed as error:
        _fail(error.message, 2)
    except LoyaltyError as error:
        _fail(error.message, 1)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=str))
        return
    click.echo(f"from {old} to {new}:")
    for line in result["lines"]:
        click.echo(f"  {line}")


@rules.command("schedule")
def schedule_command() -> None:
    """List the versions scheduled to take over later, soonest first."""
    from loyalty.services import workflow

    scheduled = workflow.schedule(_context())
    if not scheduled:
        click.echo("nothing scheduled")
    for version in scheduled:
        click.echo(f"{version['version']:>4}  takes over {version['takes_over']}  "
                   f"{version['content_hash'][:12]}  by {version['activated_by']}: "
                   f"{version['reason'] or '-'}")


@rules.command("cancel")
@click.argument("version", type=int)
@click.option("--reason", required=True, help="Why: kept in the audit log.")
def cancel_command(version: int, reason: str) -> None:
    """Call off scheduled VERSION before its instant."""
    from loyalty.services import workflow
    from loyalty.services.audit import cli_actor

    try:
        workflow.cancel(_context(), version, cli_actor(), reason)
    except LoyaltyError as error:
        _fail(error.message, 1)
    click.echo(f"cancelled version {version}")
