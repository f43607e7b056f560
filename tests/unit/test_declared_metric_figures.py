"""Declared metrics in plain Python: how a purchase, a return and an event count, in memory over
years (what backtests and explain use), and a tier ladder reached by any of several metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.domain.metrics import MetricLog, attribute_units, fold, occurrence_amount
from loyalty.domain.model import Line, Occurrence
from loyalty.domain.policy import MetricDef, TierLadder, TierLevel
from loyalty.domain.tiers import decide, downgrade_target

NIGHTS = MetricDef("nights", "units", categories=("Room-Night",))
STAYS = MetricDef("stays", "purchases", categories=("room-night",))
EVERY = MetricDef("purchases", "purchases")
TONNES = MetricDef("tonnage", "attribute", event="shipment", attribute="tonnes",
                   attribute_type="number")
FEES = MetricDef("fees", "attribute", event="shipment", attribute="fee", attribute_type="money")
T0 = datetime(2024, 1, 10, 12, tzinfo=UTC)
ROOM = ("ROOM", "ROOM-NIGHT")


def figure(log: MetricLog, metric: MetricDef, period: str, at: datetime) -> Decimal:
    return log.figures([metric], at)[f"{metric.name}_{period}"]


def test_a_return_takes_units_back_from_its_stay_and_a_full_one_the_stay() -> None:
    log = MetricLog()
    log.purchase("S-1", T0, [(*ROOM, 5), ("BREAKFAST", "dining", 1)])
    log.returned("S-1", T0 + timedelta(days=40), [(*ROOM, 2)], [(*ROOM, 5)])
    later = T0 + timedelta(days=50)
    assert figure(log, NIGHTS, "30d", T0 + timedelta(days=1)) == 5
    assert (figure(log, NIGHTS, "90d", later), figure(log, NIGHTS, "30d", later)) == (3, 0)
    log.returned("S-1", T0 + timedelta(days=60), [(*ROOM, 3)], [(*ROOM, 3)])
    end = T0 + timedelta(days=61)
    assert (figure(log, STAYS, "365d", end), figure(log, EVERY, "365d", end)) == (0, 1)


def test_figures_over_years_keep_old_stays_in_the_lifetime_only() -> None:
    log = MetricLog()
    log.purchase("OLD", T0, [(*ROOM, 4)])
    log.purchase("BARE", T0, [])  # a purchase without lines counts for a metric of every line
    log.purchase("NEW", T0 + timedelta(days=500), [(*ROOM, 2)])
    assert "OLD" not in log.bought  # summed up
    at = T0 + timedelta(days=501)
    assert (figure(log, NIGHTS, "365d", at), figure(log, NIGHTS, "lifetime", at)) == (2, 6)
    assert (figure(log, STAYS, "lifetime", at), figure(log, EVERY, "lifetime", at)) == (2, 3)
    log.returned("OLD", at, [(*ROOM, 4)], [(*ROOM, 4)])  # a year and more after the stay
    assert (figure(log, NIGHTS, "lifetime", at), figure(log, STAYS, "lifetime", at)) == (2, 1)
    assert figure(log, EVERY, "lifetime", at) == 2


def test_an_event_counts_its_number_or_money_attribute_of_its_type() -> None:
    log = MetricLog()
    for days, tonnes, fee in ((0, 12.5, "100.50"), (10, "7.25", -5), (20, "lots", 99.12345),
                              (30, True, 10)):
        log.event("shipment", T0 + timedelta(days=days), {"tonnes": tonnes, "fee": fee})
    log.event("complaint", T0, {"tonnes": 100})
    at = T0 + timedelta(days=31)
    assert (figure(log, TONNES, "30d", at), figure(log, TONNES, "90d", at)) == (
        Decimal("7.25"), Decimal("19.75"))
    assert figure(log, FEES, "lifetime", at) == Decimal("110.50")
    log.event("shipment", T0 + timedelta(days=800), {"tonnes": 1})
    assert figure(log, TONNES, "lifetime", T0 + timedelta(days=800)) == Decimal("20.75")


@pytest.mark.parametrize(("kind", "raw", "units"), [
    ("number", 12.5, 125_000), ("number", "12.5", 125_000), ("number", "-3", -30_000),
    ("number", 1e-05, 0), ("number", 0.00005, 1), ("number", " 12", None),
    ("number", "1e3", None), ("number", 10**12, None), ("number", [1], None),
    ("money", "99.9999", 999_999), ("money", "99.99999", None), ("money", -1, None),
])
def test_an_attribute_counts_in_ten_thousandths_when_it_is_a_number_of_its_type(
        kind: str, raw: object, units: int | None) -> None:
    assert attribute_units(kind, raw) == units


def test_what_a_purchase_adds_before_it_is_recorded() -> None:
    stay = Occurrence("purchase", "S-1", T0, lines=(
        Line("ROOM", "room-night", 3, Decimal(800)), Line("SPA", "spa", 1, Decimal(300))))
    assert (occurrence_amount(NIGHTS, stay), occurrence_amount(STAYS, stay)) == (3, 1)
    shipment = Occurrence("shipment", "E-1", T0, attributes={"tonnes": "20.5"})
    assert occurrence_amount(TONNES, shipment) == Decimal("20.50")
    assert occurrence_amount(NIGHTS, shipment) == 0
    assert fold("ÉPICERIE") == fold("épicerie")
    assert fold("\u03a3\u0391\u03a3") == "\u03c3\u03b1\u03c3"  # no final-sigma form


LADDER = TierLadder("nights_365d", (
    TierLevel("member", Decimal(0)),
    TierLevel("silver", Decimal(10), alternatives=(("stays_365d", Decimal(5)),)),
    TierLevel("gold", Decimal(30), alternatives=(("stays_365d", Decimal(15)),
                                                 ("spend_365d", Decimal(50000)))),
), downgrade="recalculate")


def test_a_tier_is_reached_by_any_of_its_metrics() -> None:
    assert LADDER.metrics == ("nights_365d", "stays_365d", "spend_365d")
    figures = {"nights_365d": Decimal(12), "stays_365d": Decimal(15)}
    assert LADDER.qualifying_tier(figures) == "gold"
    assert LADDER.reached_by(LADDER.levels[2], figures) == ("stays_365d", Decimal(15))
    assert LADDER.qualifying_tier(Decimal(12)) == "silver"  # the ladder's metric alone
    assert LADDER.qualifying_tier({"spend_365d": Decimal(50000)}) == "gold"


def test_a_review_keeps_a_tier_held_by_another_metric_and_recalculates_by_all() -> None:
    review = datetime(2026, 1, 15, tzinfo=UTC)
    held = {"nights_365d": Decimal(3), "stays_365d": Decimal(16), "spend_365d": Decimal(0)}
    assert decide(LADDER, "gold", review, held, review, None).action == "requalify"
    low = {"nights_365d": Decimal(3), "stays_365d": Decimal(6), "spend_365d": Decimal(0)}
    result = decide(LADDER, "gold", review, low, review, None)
    assert (result.action, result.target) == ("downgrade", "silver")
    assert downgrade_target(LADDER, "gold", {"nights_365d": Decimal(3)}) == "member"
