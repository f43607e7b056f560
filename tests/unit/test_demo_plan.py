"""The plan of a demo, without a database: the same for a seed, a pyramid whose top reaches
the top tier of every pack, event details the programme accepts, returns after purchases."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.demo.build import LAPSE_ROOM_DAYS, demo_start, read_pack, span_days
from loyalty.demo.guard import DemoRefused
from loyalty.demo.people import cast, shares
from loyalty.demo.plan import Calendar, Step, plan
from loyalty.demo.profiles import profile_for
from loyalty.demo.shop import named_items, open_shop
from loyalty.demo.yardstick import Yardstick, yardstick
from loyalty.domain.attributes import attribute_problems
from loyalty.packs import pack_names

START = datetime(2025, 1, 1, tzinfo=UTC)


def planned(pack: str, members: int = 200, seed: int = 7) -> list[Step]:
    files, policy = read_pack(pack)
    span = timedelta(days=span_days(policy))
    calendar = Calendar(START, START + span, policy.lifecycle.lapsed_days, 14)
    shop, yard = open_shop(policy, files), yardstick(policy)
    people = cast(members, seed, START, span, earliest_stop=calendar.lapsed_days + 40,
                  shop=shop, yard=yard, channels=shop.channels)
    return plan(people, shop, profile_for(pack), yard, calendar, seed)


def fingerprint(steps: list[Step]) -> list[tuple[object, ...]]:
    return [(s.at, s.kind, s.person.member_id, s.key,
             [(item.sku, item.price, quantity) for item, quantity in s.lines],
             dict(s.attributes)) for s in steps]


def test_the_same_seed_plans_the_same_year_and_another_seed_another() -> None:
    assert fingerprint(planned("retail")) == fingerprint(planned("retail"))
    assert fingerprint(planned("retail")) != fingerprint(planned("retail", seed=8))


def test_shares_are_exact_and_every_segment_has_someone_from_ten_members() -> None:
    assert shares(100, {"a": 0.05, "b": 0.95}) == {"a": 5, "b": 95}
    split = shares(10, {"top": 0.05, "upper": 0.12, "rest": 0.83})
    assert sum(split.values()) == 10 and min(split.values()) >= 1


@pytest.mark.parametrize("pack", pack_names())
def test_the_top_of_the_pyramid_plans_enough_to_reach_the_top_tier(pack: str) -> None:
    _, policy = read_pack(pack)
    yard = yardstick(policy)
    if yard.kind == "other" or not yard.thresholds:
        pytest.skip(f"the {pack} pack's ladder gives the demo nothing to aim at")
    first_year: dict[str, Decimal] = defaultdict(Decimal)
    segment = {}
    for step in planned(pack):
        if step.kind != "purchase" or step.at >= START + timedelta(days=365):
            continue
        segment[step.person.member_id] = step.person.segment
        first_year[step.person.member_id] += _measure(step, yard)
    top = [first_year[m] for m, s in segment.items() if s == "top"]
    assert top and sum(v >= yard.thresholds[-1] for v in top) >= len(top) / 2


def _measure(step: Step, yard: Yardstick) -> Decimal:
    if yard.kind == "money":
        return step.total
    counted = [q for item, q in step.lines if yard.counts(item.sku, item.category)]
    if yard.kind == "units":
        return Decimal(sum(counted))
    return Decimal(1 if counted else 0)


@pytest.mark.parametrize("pack", pack_names())
def test_every_planned_event_carries_details_the_programme_accepts(pack: str) -> None:
    _, policy = read_pack(pack)
    events = [s for s in planned(pack) if s.kind == "event"]
    assert events or not policy.events
    for step in events:
        assert attribute_problems(policy, step.event_type, step.attributes) == {}


@pytest.mark.parametrize("pack", pack_names())
def test_returns_follow_their_purchase_and_give_back_no_more_than_was_bought(
    pack: str
) -> None:
    steps = planned(pack)
    bought = {s.key: (s.at, dict((item.sku, q) for item, q in s.lines))
              for s in steps if s.kind == "purchase"}
    for step in (s for s in steps if s.kind == "return"):
        at, lines = bought[step.original]
        assert step.at > at
        assert all(lines[item.sku] >= q for item, q in step.lines)


def test_members_lapse_and_come_back_within_the_span() -> None:
    _, policy = read_pack("retail")
    steps = planned("retail")
    comebacks = [s for s in steps if s.comeback]
    assert comebacks
    for back in comebacks:
        before = [s.at for s in steps if s.kind == "purchase" and s.at < back.at
                  and s.person is back.person]
        assert back.at - max(before) > timedelta(days=policy.lifecycle.lapsed_days)


def test_a_demo_ending_after_today_is_refused_and_the_default_ends_today() -> None:
    _, policy = read_pack("hotel")
    today = date(2026, 12, 1)
    days = max(365, policy.lifecycle.lapsed_days + LAPSE_ROOM_DAYS)
    assert demo_start(policy, None, today) == datetime(2026, 12, 1, tzinfo=UTC) - timedelta(
        days=days)
    with pytest.raises(DemoRefused, match="after today"):
        demo_start(policy, date(2026, 6, 1), today)


def test_without_a_catalogue_the_products_come_from_the_rules() -> None:
    files = {"gifts.yaml": "rules:\n  - when:\n    - {fact: line.category, in: [fridge, tv]}\n"
                           "    - {fact: line.sku, starts_with: FRIDGE-}\n"}
    items = named_items(files)
    assert [(i.sku, i.category) for i in items] == [
        ("FRIDGE-ITEM", "fridge"), ("TV-ITEM", "tv"), ("FRIDGE-1", "fridge")]
