"""`loyalty demo`: a realistic programme built from a pack, through the service's write path."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import click

from loyalty.packs import pack_names


@click.command("demo")
@click.option("--pack", type=click.Choice(pack_names()), required=True,
              help="The bundled pack whose programme to build (see `loyalty packs`).")
@click.option("--members", type=click.IntRange(1, 1_000_000), default=1000, show_default=True,
              help="How many members join.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed builds the same programme, entry for entry.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The first day (ISO date). Default: so that the demo ends today.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def demo_command(pack: str, members: int, seed: int, start: datetime | None,
                 quiet: bool) -> None:
    """Build a demo programme in the configured database: members across the value pyramid,
    a year of purchases, returns, events, redemptions and weekly sweeps, recorded exactly as
    the tills and the sweep record them. The database must have no members; its rules must be
    the pack's (a database without rules gets the pack activated first)."""
    from loyalty.cli_startup import command_context, database_shown
    from loyalty.demo.build import demo_start, prepare, read_pack
    from loyalty.demo.guard import DemoRefused
    from loyalty.demo.summary import lines, summarise
    from loyalty.domain.errors import LoyaltyError
    from loyalty.store.migrate import upgrade

    began = time.monotonic()
    try:
        files, policy = read_pack(pack)
        first = demo_start(policy, None if start is None else start.date(),
                           datetime.now(UTC).date())
        ctx = command_context(create=True)
        upgrade(ctx.engine)
        demo = prepare(ctx, pack, files, policy, first=first, members=members, seed=seed,
                       where=database_shown(ctx.settings.database_url))
    except DemoRefused as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except LoyaltyError as error:
        click.echo(f"error: {error.message}", err=True)
        for problem in error.details.get("problems", []):
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    if quiet:
        counts = demo.run()
    else:
        with click.progressbar(length=demo.work, label=f"{pack} demo", file=sys.stderr,
                               show_pos=True) as bar:
            counts = demo.run(bar.update)
    summary = summarise(ctx, counts)
    for line in lines(demo, summary, policy.currency, time.monotonic() - began):
        click.echo(line)
