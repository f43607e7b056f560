"""`loyalty deliver` (send the notifications outbox to the webhook endpoints) and `loyalty
webhooks ...` (the endpoints)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections import Counter
from typing import Any

import click

from loyalty.cli_startup import command_context
from loyalty.domain.errors import LoyaltyError
from loyalty.domain.messages import ALL_CHANNELS

log = logging.getLogger(__name__)


def _fail(error: LoyaltyError) -> None:
    click.echo(f"error: {error.message}", err=True)
    sys.exit(1)


class _Stop:
    """Set by SIGTERM or SIGINT: the round under way finishes, then the loop ends."""

    def __init__(self) -> None:
        self.asked = False
        for sign in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sign, self._ask)

    def _ask(self, *_: Any) -> None:
        self.asked = True


def _parent_gone(parent: int | None) -> bool:
    return parent is not None and os.getppid() != parent


@click.command("deliver")
@click.option("--once", is_flag=True,
              help="Deliver what is due now, print what happened, and stop.")
@click.option("--batch", default=50, show_default=True, type=click.IntRange(1, 1000),
              help="Notifications one round takes (with a lease) and sends.")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds to wait when nothing is due before looking again.")
@click.option("--parent-pid", type=int, hidden=True,
              help="Stop when this process (the server it runs beside) is gone.")
def deliver_command(once: bool, batch: int, poll: float, parent_pid: int | None) -> None:
    """Send queued notifications to the webhook endpoints configured for their kind and
    channel, retrying with backoff until LOYALTY_DELIVERY_RETRY_HOURS, then dead letters.
    Several may run at once (PostgreSQL): each takes different notifications."""
    from loyalty.services.delivery import HttpSender, deliver

    ctx = command_context()
    sender = HttpSender()
    try:
        if once:
            counts = deliver(ctx, sender, batch=batch)
            click.echo(json.dumps(dict(sorted(counts.items()))))
            return
        stop = _Stop()
        total: Counter[str] = Counter()
        while not stop.asked and not _parent_gone(parent_pid):
            try:
                counts = deliver(ctx, sender, batch=batch)
            except Exception:  # a database away for a moment: try again next round
                log.exception("delivery round failed")
                counts = Counter()
            if counts:
                total.update(counts)
                log.info("delivered: %s", dict(counts))
            else:
                time.sleep(poll)
        click.echo(json.dumps(dict(sorted(total.items()))))
    finally:
        sender.close()


@click.group("webhooks")
def webhooks() -> None:
    """The endpoints notifications are delivered to."""


@webhooks.command("add")
@click.argument("url")
@click.option("--kinds", "--kind", "kinds", multiple=True,
              help="A notification name it takes (repeat, or separate by commas); none: all.")
@click.option("--channels", "--channel", "channels", multiple=True,
              help=f"A channel it takes ({', '.join(ALL_CHANNELS)}; repeat, or separate by "
                   "commas); none: all.")
@click.option("--description", help="What the endpoint is, e.g. the SMS gateway.")
def webhooks_add(url: str, kinds: tuple[str, ...], channels: tuple[str, ...],
                 description: str | None) -> None:
    """Add an endpoint; its signing secret is printed once, as the last line."""
    from loyalty.services.audit import cli_actor
    from loyalty.services.notifications import add_webhook

    def split(values: tuple[str, ...]) -> list[str]:
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    try:
        added = add_webhook(command_context(), url, kinds=split(kinds),
                            channels=split(channels), description=description,
                            actor=cli_actor())
    except LoyaltyError as error:
        _fail(error)
        return
    click.echo(f"added webhook {added['endpoint_id']} for {added['url']} (kinds: "
               f"{', '.join(added['kinds']) or 'all'}; channels: "
               f"{', '.join(added['channels']) or 'all'}); its signing secret, shown once:")
    click.echo(added["secret"])


@webhooks.command("list")
def webhooks_list() -> None:
    """List the endpoints (never their secrets)."""
    from loyalty.services.notifications import list_webhooks

    for hook in list_webhooks(command_context())["webhooks"]:
        click.echo(f"{hook['endpoint_id']}  {hook['url']}  kinds: "
                   f"{','.join(hook['kinds']) or 'all'}  channels: "
                   f"{','.join(hook['channels']) or 'all'}")


@webhooks.command("remove")
@click.argument("endpoint_id")
def webhooks_remove(endpoint_id: str) -> None:
    """Stop delivering to an endpoint; its past deliveries stay on record."""
    from loyalty.services.audit import cli_actor
    from loyalty.services.notifications import remove_webhook

    try:
        remove_webhook(command_context(), endpoint_id, cli_actor())
    except LoyaltyError as error:
        _fail(error)
        return
    click.echo(f"removed {endpoint_id}")
