"""`loyalty report NAME`: a report's figures as JSON, or its page as one HTML file."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from loyalty.cli_rules import parse_moment
from loyalty.services.named_reports import REPORTS


@click.command("report")
@click.argument("name", type=click.Choice(list(REPORTS)), metavar="NAME")
@click.option("--as-of", "as_of", callback=lambda _ctx, _param, text: None if text is None
              else parse_moment(text), help="ISO date (00:00 UTC that day) or instant with its "
              "offset the report is taken at. Default: now. Not for `overview`, which "
              "shows members as they stand.")
@click.option("--months", type=click.IntRange(1, 36),
              help="How many months the month-by-month part covers, up to the as-of month "
                   "(pyramid, value-matrix, lifecycle). Default: 12.")
@click.option("--html", "page", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the report's page (charts and tables; works offline) to this file "
                   "instead of printing the JSON.")
def report_command(name: str, as_of: datetime | None, months: int | None,
                   page: Path | None) -> None:
    """Print report NAME as JSON, or write its page with --html. NAME is one of: overview,
    liability, winback, pyramid, value-matrix, lifecycle."""
    from loyalty.cli_startup import command_context
    from loyalty.domain.errors import LoyaltyError
    from loyalty.services.named_reports import read_report, report_page

    ctx = command_context()
    try:
        if page is None:
            click.echo(json.dumps(read_report(ctx, name, as_of, months), indent=2,
                                  ensure_ascii=False))
            return
        text = report_page(ctx, name, as_of, months)
    except LoyaltyError as error:
        click.echo(f"error: {error.message}", err=True)
        sys.exit(2)
    page.write_text(text, encoding="utf-8")
    click.echo(f"wrote the {name} page to {page} ({len(text.encode()) // 1024:,} KB)")
