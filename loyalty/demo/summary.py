"""What a finished demo built, as marketing reads it: the pyramid and its top, the lifecycle,
win-back offers issued and used, what was recorded, and the ledger's digest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from loyalty.demo import observe
from loyalty.demo.build import Demo
from loyalty.services import reports
from loyalty.services.context import ServiceContext


@dataclass(frozen=True)
class Summary:
    overview: dict[str, Any]
    winback: dict[str, Any]
    top_share: Decimal  # of all spend, brought by the best 20% of members
    spend: Decimal
    counts: Counter[str]
    digest: str
    entries: int

    @property
    def offers_issued(self) -> int:
        return sum(offer["issued"] for offer in self.winback["offers"])

    @property
    def offers_used(self) -> int:
        return sum(offer["used"] for offer in self.winback["offers"])


def summarise(ctx: ServiceContext, counts: Counter[str]) -> Summary:
    spends = observe.spend_by_member(ctx)
    digest, entries = observe.ledger_digest(ctx)
    return Summary(reports.overview(ctx), reports.winback(ctx), observe.top_share(spends),
                   sum(spends, Decimal(0)), counts, digest, entries)


def lines(demo: Demo, summary: Summary, currency: str, seconds: float) -> list[str]:
    """The summary a person reads at the end of `loyalty demo`."""
    counts, overview = summary.counts, summary.overview
    calendar = demo.calendar
    events = sorted((k.removeprefix("event:"), n) for k, n in counts.items()
                    if k.startswith("event:"))
    event_words = ", ".join(f"{name} {n:,}" for name, n in events) or "none"
    pyramid = ", ".join(f"{level['tier']} {level['members']:,}" for level in overview["pyramid"])
    stages = ", ".join(f"{stage} {n:,}" for stage, n in overview["lifecycle"].items())
    offers = "; ".join(f"{o['offer_code']} issued {o['issued']:,}, used {o['used']:,}"
                       for o in summary.winback["offers"]) or "none"
    return [
        f"demo of the {demo.pack} pack: {demo.members:,} members, seed {demo.seed}, "
        f"{calendar.start.date()} to {calendar.end.date()} ({calendar.span.days} days)"
        + (", pack activated first" if demo.activated else ""),
        f"recorded: {counts['enrolments']:,} enrolments, {counts['purchases']:,} purchases "
        f"({counts['vouchers_used']:,} with a voucher), {counts['returns']:,} returns, "
        f"{counts['redemptions']:,} redemptions ({counts['redemptions_refused']:,} refused), "
        f"{counts['sweeps']:,} weekly sweeps",
        f"events: {event_words}",
        f"pyramid: {pyramid}; VIP {overview['vip']:,}",
        f"the top 20% of members bring {summary.top_share:.0%} of the spend "
        f"({summary.spend:,.2f} {currency} in all)",
        f"lifecycle: {stages}",
        f"offers: {summary.offers_issued:,} issued, {summary.offers_used:,} used "
        f"({counts['comebacks']:,} lapsed members came back): {offers}",
        f"ledger: {summary.entries:,} entries, digest {summary.digest}",
        f"took {seconds:.0f} s",
    ]
