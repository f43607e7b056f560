"""The `loyalty` command: set up the database, manage keys and rules, verify the ledger, serve."""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import UTC, date, datetime, time
from typing import Any

import click

from loyalty.cli_rules import rules
from loyalty.config import Settings
from loyalty.domain.errors import LoyaltyError


def _context() -> Any:
    """The service context; a database with no schema yet gets one first."""
    from loyalty.app import build_context
    from loyalty.store.migrate import ensure_schema

    ctx = build_context(Settings.from_env())
    if ctx.settings.auto_migrate and ensure_schema(ctx.engine):
        click.echo(f"created the database schema at {ctx.settings.database_url}", err=True)
    return ctx


def _fail(error: LoyaltyError) -> None:
    click.echo(f"error: {error.message}", err=True)
    for problem in error.details.get("problems", []):
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """Loyalty service administration. Settings come from LOYALTY_* environment variables."""


@main.command()
def init() -> None:
    """Create or upgrade the database schema, then activate the bundled rules if none are."""
    from loyalty.services.versions import bootstrap
    from loyalty.store.migrate import upgrade

    ctx = _context()
    upgrade(ctx.engine)
    bootstrap(ctx.engine, ctx.settings)
    versions = _versions(ctx)
    active = versions[0]["version"] if versions else "none"
    click.echo(f"database ready at {ctx.settings.database_url}; rules version {active} active")


def _versions(ctx: Any) -> list[dict[str, Any]]:
    from loyalty.services.rules import list_versions

    return list_versions(ctx)


main.add_command(rules)


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
@click.option("--role", type=click.Choice(["pos", "marketing", "admin"]), required=True)
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
def rules_activate(directory: str | None) -> None:
    """Check the rule files and, if valid, make them the rules in force as a new version."""
    from loyalty import engine as rule_engine
    from loyalty.services.rules import activate

    ctx = _context()
    try:
        files = rule_engine.read_rule_dir(directory or ctx.settings.rules_dir)
        result = activate(ctx, files, activated_by=os.environ.get("USER", "cli"))
    except LoyaltyError as error:
        _fail(error)
        return
    if result["changed"]:
        click.echo(f"activated rules version {result['version']} ({result['content_hash'][:12]})")
    else:
        click.echo(f"rules unchanged: version {result['version']} stays in force")


@rules.command("versions")
def rules_versions() -> None:
    """List activated rule versions, newest first."""
    for version in _versions(_context()):
        mark = "*" if version["active"] else " "
        click.echo(f"{mark} {version['version']:>4}  {version['activated_at']}  "
                   f"{version['content_hash'][:12]}  by {version['activated_by']}")


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


def parse_as_of(text: str) -> datetime:
    """An ISO date (meaning 00:00 UTC that day) or an ISO instant with its offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, UTC)
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter(f"not an ISO date or instant: {text!r}") from error
    if value.tzinfo is None:
        raise click.BadParameter("an instant needs its UTC offset, e.g. 2026-11-20T00:00+08:00")
    return value


@main.command()
@click.option("--as-of", "as_of", required=True,
              help="ISO date (00:00 UTC that day) or instant with offset.")
@click.option("--shard", default="1/1", show_default=True,
              help="K/N: sweep only members whose bucket % N == K-1, in parallel with others.")
@click.option("--batch-size", default=2000, show_default=True, type=int)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--allow-future", is_flag=True,
              help="Run even when --as-of is more than the future tolerance "
                   "(LOYALTY_FUTURE_TOLERANCE_HOURS) ahead of now.")
def sweep(as_of: str, shard: str, batch_size: int, quiet: bool, allow_future: bool) -> None:
    """Run every time-based behaviour as of a date: points activation and expiry, tier
    requalification, VIP, lifecycle stages and win-back, birthdays. Idempotent; resumable.
    A date more than the future tolerance ahead is refused (exit 2) without --allow-future."""
    from loyalty.services.sweep import Shard, run_sweep
    from loyalty.services.sweep.phases import default_phases
    from loyalty.services.sweep.runner import ahead_problem, remaining_work

    try:
        part = Shard.parse(shard)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    instant = parse_as_of(as_of)
    ctx = _context()
    problem = None if allow_future else ahead_problem(ctx, instant, ctx.clock(), name="--as-of",
                                                      allow="--allow-future")
    if problem:
        click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    if quiet:
        report = run_sweep(ctx, instant, shard=part, batch_size=batch_size,
                           allow_future=allow_future)
    else:
        names = [phase.name for phase in default_phases(ctx.rules.current())]
        total = remaining_work(ctx, instant, part, names)  # after a resume: what is left
        with click.progressbar(length=total, label=f"sweep {shard} as of {instant}",
                               file=sys.stderr) as bar:
            report = run_sweep(ctx, instant, shard=part, batch_size=batch_size,
                               allow_future=allow_future,
                               progress=lambda _phase, n: bar.update(n))
    click.echo(json.dumps(report, indent=2))


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--timeout", default=120, show_default=True, type=int,
              envvar="LOYALTY_SERVE_TIMEOUT",
              help="Seconds a request may run before its worker is restarted (a sweep run "
                   "over HTTP included; large programmes sweep with `loyalty sweep`).")
def serve(bind: str, workers: int, timeout: int) -> None:
    """Run the HTTP service with gunicorn (one app per worker, built after the fork)."""
    gunicorn = shutil.which("gunicorn") or os.path.join(os.path.dirname(sys.executable),
                                                         "gunicorn")
    args = [gunicorn, "--bind", bind, "--workers", str(workers), "--timeout", str(timeout),
            "--access-logfile", "-", "loyalty:create_app()"]
    click.echo(json.dumps({"serving": bind, "workers": workers, "timeout": timeout}))
    os.execv(gunicorn, args)
