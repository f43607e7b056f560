"""Where a demo may be built: a database with no members, whose rules are the pack's files
(activated first when it has no rules at all). Anything else is refused before a write."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from loyalty import engine as rule_engine
from loyalty.demo import observe
from loyalty.services.context import ServiceContext, utcnow
from loyalty.services.versions import Order, bootstrap


class DemoRefused(Exception):
    """This database cannot take the demo; the message says why, in one line."""


def require_empty(ctx: ServiceContext, where: str) -> None:
    count = observe.member_count(ctx)
    if count:
        members = f"{count:,} member" + ("" if count == 1 else "s")
        raise DemoRefused(f"the database at {where} already holds {members}: a demo "
                          "builds a programme in a database without members; set "
                          "LOYALTY_DATABASE_URL to a new one")


def require_pack_rules(ctx: ServiceContext, pack: str, files: Mapping[str, str],
                       start: datetime) -> bool:
    """Make sure the pack's files are the rules in force from `start` until now: activated
    when the database has no rules (True), refused when other rules are in force then."""
    with ctx.uow(read_only=True) as uow:
        order = Order.of(list(uow.programme.rule_versions()))
        now, then = order.in_force(utcnow()), order.in_force(start)
        current = None if now is None else uow.programme.rule_version(now)
    if current is None:
        bootstrap(ctx.engine, ctx.settings, pack=pack, prepare=ctx.rules.prepare)
        ctx.rules.invalidate()
        return True
    if current.content_hash != rule_engine.rules_content_hash(files):
        raise DemoRefused(
            f"the rules in force (version {now}) are not the {pack} pack's files: a demo of "
            f"the {pack} pack needs a database whose rules are that pack's, or one without "
            "rules")
    if then != now:
        raise DemoRefused(
            f"rules version {then} was in force on {start.date()}, not the {pack} pack's "
            "files: start the demo after the pack took over, or use a new database")
    return False
