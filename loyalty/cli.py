"""The `loyalty` command: set up the database, manage keys and rules, verify the ledger, serve."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import click

from loyalty.cli_delivery import deliver_command, webhooks
from loyalty.cli_packs import new_rules, packs_command
from loyalty.cli_reports import report_command
from loyalty.cli_rules import parse_moment, rules
from loyalty.cli_startup import (
    LoyaltyGroup,
    command_context,
    database_shown,
    require_database,
    start,
)
from loyalty.config import Settings
from loyalty.demo.command import demo_command
from loyalty.domain.errors import LoyaltyError
from loyalty.packs import pack_names
from loyalty.services.keys import ROLES as KEY_ROLES

#: gunicorn's settings for `loyalty serve`: JSON logs, metrics shared by the workers.
GUNICORN_CONFIG = "python:loyalty.observability.gunicorn_config"


def _context() -> Any:
    """The service context; a database with no schema yet gets one first, a SQLite file that
    does not exist is refused (only `loyalty init` creates one)."""
    return command_context()


def _fail(error: LoyaltyError) -> None:
    click.echo(f"error: {error.message}", err=True)
    for problem in error.details.get("problems", []):
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


@click.group(cls=LoyaltyGroup)
@click.version_option(package_name="loyalty", message="loyalty %(version)s")
def main() -> None:
    """Loyalty service administration. Settings come from LOYALTY_* environment variables."""
    start()


@main.command()
@click.option("--pack", type=click.Choice(pack_names()), default=None,
              help="Start the programme from this bundled pack (see `loyalty packs`).")
def init(pack: str | None) -> None:
    """Create or upgrade the database schema, then, on a database with no rules yet, activate
    a pack (--pack) or the rules folder (the retail pack when there is none)."""
    from loyalty.services.versions import bootstrap
    from loyalty.store.migrate import upgrade

    ctx = command_context(create=True)
    upgrade(ctx.engine)
    before = _versions(ctx)
    activated = bootstrap(ctx.engine, ctx.settings, pack=pack)
    versions = _versions(ctx)
    active = versions[0]["version"] if versions else "none"
    click.echo(f"database ready at {database_shown(ctx.settings.database_url)}; "
               f"rules version {active} active")
    if pack is not None and not activated and before:
        click.echo(f"error: the {pack} pack was not activated: this database already has "
                   f"rules (version {active}); to switch, write the pack out with `loyalty "
                   f"rules new DIR --pack {pack}` and activate it with `loyalty rules "
                   "activate DIR --reason R`", err=True)
        raise SystemExit(1)
    if not versions:
        folder = Path(ctx.settings.rules_dir).resolve()
        click.echo(f"error: no rules are active: no rule folder at {folder} "
                   "(LOYALTY_RULES_DIR); activate one with `loyalty rules activate DIR "
                   "--reason R`, and until then the service answers 503", err=True)
        raise SystemExit(1)


def _versions(ctx: Any) -> list[dict[str, Any]]:
    from loyalty.services.rules import list_versions

    return list_versions(ctx)


main.add_command(rules)
main.add_command(packs_command)
main.add_command(demo_command)
main.add_command(deliver_command)
main.add_command(webhooks)
main.add_command(report_command)
rules.add_command(new_rules)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending schema migration."""
    from loyalty.store.migrate import current, upgrade

    ctx = _context()
    upgrade(ctx.engine)
    click.echo(f"schema at revision {current(ctx.engine)}")


@main.group()
def keys() -> None:
    """API keys for tills, marketing staff and administrators."""


@keys.command("create")
@click.option("--role", type=click.Choice(list(KEY_ROLES)), required=True)
@click.option("--name", required=True, help="Who or what uses the key, e.g. till-12.")
def keys_create(role: str, name: str) -> None:
    """Create a key; it is printed once, as the last line, and stored only as a hash."""
    from loyalty.services.keys import create_key

    try:
        key, info = create_key(_context(), role, name)
    except LoyaltyError as error:
        _fail(error)
        return
    click.echo(f"created {info['role']} key {info['key_id']} for {info['name']}")
    click.echo(key)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from loyalty.services.keys import list_keys

    for key in list_keys(_context()):
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else "active"
        click.echo(f"{key['key_id']}  {key['role']:<9}  {key['name']}  {state}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id."""
    from loyalty.services.keys import revoke_key

    if not revoke_key(_context(), key_id):
        click.echo(f"no active key {key_id}", err=True)
        sys.exit(1)
    click.echo(f"revoked {key_id}")


@rules.command("activate")
@click.argument("directory", required=False)
@click.option("--reason", required=True, help="Why: kept in the audit log.")
@click.option("--at", "at", help="Take over at this instant (ISO, with its offset) at every "
              "till instead of now.")
def rules_activate(directory: str | None, reason: str, at: str | None) -> None:
    """Check the rule files and, if valid, make them the rules in force as a new version (now,
    or from --at). Where the rules in force require approval, the same files must have been
    approved as a draft."""
    from loyalty import engine as rule_engine
    from loyalty.services.audit import cli_actor
    from loyalty.services.rules import activate

    ctx = _context()
    instant = None if at is None else parse_moment(at, dates=False)
    try:
        files = rule_engine.read_rule_dir(directory or ctx.settings.rules_dir)
        result = activate(ctx, files, cli_actor(), reason=reason, at=instant)
    except FileNotFoundError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except LoyaltyError as error:
        _fail(error)
        return
    _print_activation(result)


def _print_activation(result: dict[str, Any]) -> None:
    if not result["changed"]:
        click.echo(f"rules unchanged: version {result['version']} is {result['status']} with "
                   "the same content")
        return
    if result["status"] == "scheduled":
        click.echo(f"scheduled rules version {result['version']} "
                   f"({result['content_hash'][:12]}) to take over at {result['effective_at']}")
    else:
        click.echo(f"activated rules version {result['version']} ({result['content_hash'][:12]})")
    for line in result.get("diff", {}).get("lines", []):
        click.echo(f"  {line}")
    for warning in result.get("warnings", []):
        click.echo(f"warning: {warning}")


@rules.command("versions")
def rules_versions() -> None:
    """List rule versions, newest first: status, when each takes (or took) over, content hash,
    who activated it and why."""
    for version in _versions(_context()):
        mark = "*" if version["active"] else " "
        extra = f"  restores {version['restores']}" if version["restores"] else ""
        click.echo(f"{mark} {version['version']:>4}  {version['status']:<10}  "
                   f"{version['effective_at']}  {version['content_hash']}  "
                   f"by {version['activated_by']}: {version['reason'] or '-'}{extra}")


@main.group()
def ledger() -> None:
    """The points ledger."""


@ledger.command("verify")
def ledger_verify() -> None:
    """Check every ledger invariant; exit non-zero on any drift."""
    from loyalty.services.verify import verify_ledger

    problems = verify_ledger(_context())
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo("ledger consistent: balances equal the sum of their entries")


@main.command()
@click.option("--as-of", "as_of", required=True,
              help="ISO date (00:00 UTC that day), instant with offset, or `today` (00:00 UTC "
                   "today, for a daily schedule).")
@click.option("--shard", default="1/1", show_default=True,
              help="K/N: sweep only members whose bucket % N == K-1, in parallel with others.")
@click.option("--batch-size", default=2000, show_default=True, type=int)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--allow-future", is_flag=True,
              help="Run even when --as-of is more than the future tolerance "
                   "(LOYALTY_FUTURE_TOLERANCE_HOURS) ahead of now.")
@click.option("--every-day-at", "daily_at", metavar="HH:MM",
              help="Stay running and sweep as of each day at this time (UTC), printing each "
                   "report on one line: for a container without a scheduler. Needs --as-of "
                   "today.")
def sweep(as_of: str, shard: str, batch_size: int, quiet: bool, allow_future: bool,
          daily_at: str | None) -> None:
    """Run every time-based behaviour as of a date: points activation and expiry, tier
    requalification, VIP, lifecycle stages and win-back, birthdays. Idempotent; resumable.
    A date more than the future tolerance ahead is refused (exit 2) without --allow-future."""
    import time as clock_time

    from loyalty.cli_schedule import parse_time_of_day, run_daily
    from loyalty.services.sweep import Shard

    try:
        part = Shard.parse(shard)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    instant = None if as_of == "today" else parse_moment(as_of)
    at = None
    if daily_at is not None:
        if instant is not None:
            raise click.BadParameter("a daily sweep runs as of each day: use --as-of today",
                                     param_hint="--every-day-at")
        try:
            at = parse_time_of_day(daily_at)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--every-day-at") from error
    ctx = _context()
    if at is None:
        report = _sweep_once(ctx, instant, part, batch_size, quiet=quiet,
                             allow_future=allow_future)
        click.echo(json.dumps(report, indent=2))
        return

    def once() -> None:
        report = _sweep_once(ctx, None, part, batch_size, quiet=True, allow_future=allow_future)
        click.echo(json.dumps(report))

    run_daily(at, once, clock=ctx.clock, sleep=clock_time.sleep)


def _sweep_once(ctx: Any, instant: datetime | None, part: Any, batch_size: int, *,
                quiet: bool, allow_future: bool) -> dict[str, Any]:
    """One sweep as of `instant` (None: 00:00 UTC today by the service clock); its report."""
    from loyalty.services.audit import cli_actor
    from loyalty.services.sweep import run_sweep
    from loyalty.services.sweep.phases import default_phases
    from loyalty.services.sweep.runner import ahead_problem, remaining_work

    if instant is None:
        instant = datetime.combine(ctx.clock().astimezone(UTC).date(), time.min, UTC)
    problem = None if allow_future else ahead_problem(ctx, instant, ctx.clock(), name="--as-of",
                                                      allow="--allow-future")
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    if quiet:
        return run_sweep(ctx, instant, shard=part, batch_size=batch_size,
                         allow_future=allow_future, actor=cli_actor())
    names = [phase.name for phase in default_phases(ctx.book())]
    total = remaining_work(ctx, instant, part, names)  # after a resume: what is left
    with click.progressbar(length=total, label=f"sweep {part} as of {instant}",
                           file=sys.stderr) as bar:
        return run_sweep(ctx, instant, shard=part, batch_size=batch_size,
                         allow_future=allow_future, actor=cli_actor(),
                         progress=lambda _phase, n: bar.update(n))


@main.command("audit")
@click.option("--action", "actions", multiple=True, help="Only this action (repeatable), "
              "e.g. rules.activated.")
@click.option("--actor", help="Only what this key name or user@host did.")
@click.option("--subject", help='Only about this, e.g. "version 3" or "draft d-1a2b3c4d".')
@click.option("--from", "start", help="From this ISO date or instant.")
@click.option("--to", "end", help="Up to this ISO date (inclusive) or instant.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@click.option("--cursor", type=int, help="The next cursor a previous page printed.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def audit_command(actions: tuple[str, ...], actor: str | None, subject: str | None,
                  start: str | None, end: str | None, limit: int, cursor: int | None,
                  fmt: str) -> None:
    """The audit log, newest first: who did what to the programme, when and why."""
    from loyalty.services.audit import ACTIONS, read_log

    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        raise click.BadParameter(f"unknown action {', '.join(unknown)}; known: "
                                 f"{', '.join(ACTIONS)}", param_hint="--action")
    since = None if start is None else parse_moment(start)
    until = None if end is None else parse_moment(end, end=True)
    page = read_log(_context(), actions=list(actions) or None, actor=actor, subject=subject,
                    since=since, until=until, cursor=cursor, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(page, indent=2, default=str))
        return
    for entry in page["entries"]:
        reason = f": {entry['reason']}" if entry["reason"] else ""
        click.echo(f"{entry['id']:>6}  {entry['at']}  {entry['actor']} ({entry['actor_kind']})"
                   f"  {entry['action']}  {entry['subject'] or ''}{reason}")
        for line in entry["details"].get("diff", []):
            click.echo(f"          {line}")
    if page["next_cursor"] is not None:
        click.echo(f"more: --cursor {page['next_cursor']}")


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 256))
@click.option("--timeout", type=click.IntRange(1, 24 * 3600),
              help="Seconds a request may run before its worker is restarted (a sweep run "
                   "over HTTP included; large programmes sweep with `loyalty sweep`). "
                   "Default: LOYALTY_SERVE_TIMEOUT, 120.")
@click.option("--deliver", is_flag=True,
              help="Also run `loyalty deliver` beside the server, until the server stops.")
def serve(bind: str, workers: int, timeout: int | None, deliver: bool) -> None:
    """Run the HTTP service with the gunicorn installed beside this command (one app per
    worker, built after the fork); every log line goes to standard error as JSON. A SQLite
    database must exist first (`loyalty init`)."""
    settings = Settings.from_env()
    require_database(settings)
    timeout = timeout or settings.serve_timeout
    if deliver:  # the server keeps this process's id: the deliverer stops when it is gone
        import subprocess

        subprocess.Popen([sys.executable, "-c", "from loyalty.cli import main; main()",
                          "deliver", "--parent-pid", str(os.getpid())],
                         stdout=subprocess.DEVNULL)
    args = [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONFIG, "--bind", bind,
            "--workers", str(workers), "--timeout", str(timeout), "loyalty:create_app()"]
    click.echo(json.dumps({"serving": bind, "workers": workers, "timeout": timeout}))
    sys.stdout.flush()
    os.execv(sys.executable, args)
