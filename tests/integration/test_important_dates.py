"""The sweep's reminders of important dates: a week ahead, once a year, caught up after a
skipped day, with gift ideas from the member's own purchases, and the rules' answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from loyalty.domain.relations import AddDate, AddRelative
from loyalty.services import relations
from loyalty.services.context import ServiceContext
from loyalty.services.sweep import Shard, run_sweep
from loyalty.services.sweep.important_dates import ImportantDatesPhase
from loyalty.store import tables as t
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, give_back, purchase, use_rules

PHASES = [ImportantDatesPhase()]


def day(month: int, dom: int, year: int = 2026) -> datetime:
    return datetime(year, month, dom, tzinfo=UTC)


def spouse(ctx: ServiceContext, member_id: str, *, month: int = 12, dom: int = 3,
           year: int | None = 1990, name: str = "Mei") -> None:
    relative_id = f"REL-{member_id}"
    relations.add_relative(ctx, AddRelative(relative_id, member_id, "spouse", name, "f"))
    relations.add_date(ctx, AddDate(f"BDAY-{member_id}", member_id, "birthday", month, dom,
                                    "f", year=year, relative_id=relative_id))


def buys(ctx: ServiceContext, member_id: str, *amounts: str, category: str = "homeware",
         at: datetime = T0) -> None:
    for n, amount in enumerate(amounts):
        purchase(ctx, f"S-{member_id}-{category}-{n}", [("ITEM", category, 1, amount)],
                 member_id=member_id, at=at - timedelta(days=n + 1))


def reminders(ctx: ServiceContext, member_id: str | None = None) -> list[dict[str, Any]]:
    e = t.events.c
    query = select(e.member_id, e.attributes, e.occurred_at).where(e.type == "important_date")
    if member_id is not None:
        query = query.where(e.member_id == member_id)
    with ctx.uow(read_only=True) as uow:
        rows = uow.connection.execute(query.order_by(e.occurred_at, e.member_id)).all()
    return [{"member_id": row.member_id, **row.attributes} for row in rows]


def offers(ctx: ServiceContext, member_id: str) -> list[str]:
    with ctx.uow(read_only=True) as uow:
        return list(uow.connection.execute(select(t.offers.c.offer_code).where(
            t.offers.c.member_id == member_id)).scalars())


def calls(ctx: ServiceContext, member_id: str) -> list[str]:
    n = t.notifications.c
    with ctx.uow(read_only=True) as uow:
        return list(uow.connection.execute(select(n.notification).where(
            n.member_id == member_id, n.notification == "gift-reminder-call")).scalars())


@pytest.fixture
def wei(ctx: ServiceContext) -> str:
    """Wei, whose wife Mei was born on 3 December 1990; he buys televisions and kitchens."""
    ctx.clock = lambda: T0
    enrol(ctx, "M-WEI")
    purchase(ctx, "S-TV", [("TV-55", "tv", 1, "3999.00")], member_id="M-WEI",
             at=T0 - timedelta(days=30))
    purchase(ctx, "S-OVEN", [("OVEN-60", "kitchen", 1, "2999.00")], member_id="M-WEI",
             at=T0 - timedelta(days=60))
    purchase(ctx, "S-SMALL", [("SPEAKER-2", "audio", 1, "499.00"),
                              ("MUG-1", "homeware", 1, "39.00")], member_id="M-WEI",
             at=T0 - timedelta(days=90))
    purchase(ctx, "S-OLD", [("FRIDGE-500L", "fridge", 1, "5999.00")], member_id="M-WEI",
             at=T0 - timedelta(days=400))  # more than a year before: not his usual any more
    spouse(ctx, "M-WEI")
    for n, amount in enumerate(("100.00", "200.00", "300.00", "400.00", "500.00")):
        enrol(ctx, f"M-{n}")
        buys(ctx, f"M-{n}", amount)
    return "M-WEI"


def test_a_week_before_his_wifes_birthday_he_is_reminded_with_gift_ideas(
    ctx: ServiceContext, wei: str
) -> None:
    report = run_sweep(ctx, day(11, 26), phases=PHASES)
    assert report["phases"]["important_dates"]["reminders"] == 1
    assert reminders(ctx) == [{
        "member_id": wei, "kind": "birthday", "relation": "spouse", "name": "Mei",
        "label": None, "date": "2026-12-03", "days_ahead": 7,
        "suggested_categories": ["tv", "kitchen", "audio"],
        "usual_spend": "2999.00", "spend_band": "high",
    }]
    assert calls(ctx, wei) == ["gift-reminder-call"]
    assert offers(ctx, wei) == ["GIFT-IDEAS-DOUBLE"]


def test_the_reminder_comes_once_a_year(ctx: ServiceContext, wei: str) -> None:
    for dom in range(20, 31):
        run_sweep(ctx, day(11, dom), phases=PHASES)
    run_sweep(ctx, day(11, 26), phases=PHASES)
    run_sweep(ctx, day(12, 3), phases=PHASES)
    assert [r["date"] for r in reminders(ctx)] == ["2026-12-03"]
    run_sweep(ctx, day(11, 26, 2027), phases=PHASES)
    assert [r["date"] for r in reminders(ctx)] == ["2026-12-03", "2027-12-03"]
    assert calls(ctx, wei) == ["gift-reminder-call"] * 2


def test_a_skipped_sweep_day_is_caught_up_nearer_the_day(ctx: ServiceContext,
                                                         wei: str) -> None:
    run_sweep(ctx, day(11, 25), phases=PHASES)  # 8 days ahead: not yet
    assert reminders(ctx) == []
    run_sweep(ctx, day(11, 30), phases=PHASES)  # the sweeps of 26 to 29 November never ran
    assert [(r["date"], r["days_ahead"]) for r in reminders(ctx)] == [("2026-12-03", 3)]


def test_a_day_already_past_is_not_reminded_late(ctx: ServiceContext, wei: str) -> None:
    run_sweep(ctx, day(11, 25), phases=PHASES)
    run_sweep(ctx, day(12, 4), phases=PHASES)
    assert reminders(ctx) == []


def test_a_date_recorded_late_in_the_window_is_reminded_once(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-LATE")
    run_sweep(ctx, day(11, 28), phases=PHASES)
    spouse(ctx, "M-LATE", month=12, dom=1, year=None)  # after the 24 November reminder
    run_sweep(ctx, day(11, 29), phases=PHASES)
    run_sweep(ctx, day(11, 30), phases=PHASES)
    found = reminders(ctx, "M-LATE")
    assert [(r["date"], r["days_ahead"]) for r in found] == [("2026-12-01", 2)]
    # he bought nothing: no usual spend and no ideas, but the call still comes
    assert (found[0]["usual_spend"], found[0]["spend_band"],
            found[0]["suggested_categories"]) == (None, None, [])
    assert calls(ctx, "M-LATE") == ["gift-reminder-call"]
    assert offers(ctx, "M-LATE") == []


def test_removing_the_relative_stops_the_reminders(ctx: ServiceContext, wei: str) -> None:
    relations.remove_relative(ctx, wei, f"REL-{wei}")
    run_sweep(ctx, day(11, 26), phases=PHASES)
    assert reminders(ctx) == []
    with ctx.uow(read_only=True) as uow:
        assert uow.connection.execute(select(t.important_dates)).all() == []


def test_29_february_is_remembered_on_28_february_in_a_common_year(
    ctx: ServiceContext
) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-LEAP")
    spouse(ctx, "M-LEAP", month=2, dom=29, year=1992)
    run_sweep(ctx, day(2, 21, 2027), phases=PHASES)
    run_sweep(ctx, day(2, 22, 2028), phases=PHASES)
    assert [(r["date"], r["days_ahead"]) for r in reminders(ctx)] == [
        ("2027-02-28", 7), ("2028-02-29", 7)]


def test_the_day_comes_back_only_after_its_own_year(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-NEW")
    relations.add_date(ctx, AddDate("WED", "M-NEW", "wedding_anniversary", 11, 20, "f",
                                    year=2026))  # married today
    run_sweep(ctx, day(11, 20), phases=PHASES)
    run_sweep(ctx, day(11, 20, 2027), phases=PHASES)
    found = reminders(ctx)
    assert [(r["kind"], r["relation"], r["name"], r["date"]) for r in found] == [
        ("wedding_anniversary", "", "", "2027-11-20")]


def test_the_programme_sets_how_far_ahead(ctx: ServiceContext, wei: str) -> None:
    program = (RULES_DIR / "program.yaml").read_text()
    assert "remind_days_before: 7" in program
    use_rules(ctx, program=program.replace("remind_days_before: 7", "remind_days_before: 0"))
    run_sweep(ctx, day(11, 26), phases=PHASES)
    assert reminders(ctx) == []
    run_sweep(ctx, day(12, 3), phases=PHASES)
    assert [(r["date"], r["days_ahead"]) for r in reminders(ctx)] == [("2026-12-03", 0)]


def test_spend_bands_cut_the_buying_members_into_thirds(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    for n, amount in enumerate(("100.00", "200.00", "300.00", "400.00", "500.00", "600.00")):
        member_id = f"M-B{n}"
        enrol(ctx, member_id)
        buys(ctx, member_id, amount)
        spouse(ctx, member_id)
    enrol(ctx, "M-NONE")
    spouse(ctx, "M-NONE")
    run_sweep(ctx, day(11, 26), phases=PHASES, batch_size=3)
    bands = {r["member_id"]: (r["usual_spend"], r["spend_band"]) for r in reminders(ctx)}
    assert bands == {
        "M-B0": ("100.00", "low"), "M-B1": ("200.00", "low"),
        "M-B2": ("300.00", "medium"), "M-B3": ("400.00", "medium"),
        "M-B4": ("500.00", "high"), "M-B5": ("600.00", "high"),
        "M-NONE": (None, None),
    }
    assert offers(ctx, "M-B0") == ["GIFT-IDEAS-100"]
    assert offers(ctx, "M-B2") == ["GIFT-IDEAS-300"]
    assert offers(ctx, "M-B5") == ["GIFT-IDEAS-DOUBLE"]


def test_usual_spend_is_the_median_net_of_returns(ctx: ServiceContext) -> None:
    ctx.clock = lambda: T0
    enrol(ctx, "M-RET")
    buys(ctx, "M-RET", "100.00", "250.00")
    purchase(ctx, "S-BIG", [("TV-55", "tv", 1, "3999.00")], member_id="M-RET",
             at=T0 - timedelta(days=5))
    give_back(ctx, "R-BIG", "S-BIG", [("TV-55", 1)], member_id="M-RET",
              at=T0 - timedelta(days=4))
    spouse(ctx, "M-RET")
    run_sweep(ctx, day(11, 26), phases=PHASES)
    (found,) = reminders(ctx)
    # the television went back: left out of what he spends and of what he buys
    assert (found["usual_spend"], found["suggested_categories"]) == ("175.00", ["homeware"])
    assert found["spend_band"] == "medium"  # one buying member: nothing to compare with


def test_every_shard_uses_the_same_bands(ctx: ServiceContext, wei: str) -> None:
    reports = [run_sweep(ctx, day(11, 26), shard=Shard(k, 2), phases=[ImportantDatesPhase()])
               for k in (1, 2)]
    assert sum(r["phases"]["important_dates"].get("reminders", 0) for r in reports) == 1
    with ctx.uow(read_only=True) as uow:
        stored = uow.connection.execute(select(t.sweep_runs.c.counts).where(
            t.sweep_runs.c.phase == "spend-bands")).scalars().all()
    assert stored == [{"low_up_to": "200", "high_above": "400", "members": 6}]


def test_reading_dates_and_ideas_costs_a_few_queries_per_batch_not_per_member(
    ctx: ServiceContext
) -> None:
    ctx.clock = lambda: T0
    for n in range(12):
        enrol(ctx, f"M-Q{n:02d}")
        buys(ctx, f"M-Q{n:02d}", f"{100 + n}.00")
        spouse(ctx, f"M-Q{n:02d}")
    statements: list[str] = []
    engine = ctx.engine

    def seen(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        report = run_sweep(ctx, day(11, 26), phases=[ImportantDatesPhase()], batch_size=6)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert report["phases"]["important_dates"]["reminders"] == 12

    def reading(fragment: str) -> int:
        return sum(1 for s in statements if fragment in s and s.lstrip().startswith("SELECT"))

    assert reading("FROM important_dates LEFT OUTER JOIN member_relatives") == 2  # 2 batches
    assert reading("GROUP BY transactions.member_id, transaction_lines.category") == 2
    assert reading("ORDER BY transactions.member_id, net") == 3  # 2 batches and the bands


def test_the_full_sweep_reminds_after_the_calendar(ctx: ServiceContext, wei: str) -> None:
    report = run_sweep(ctx, day(11, 26))
    assert list(report["phases"])[-3:-1] == ["calendar", "important_dates"]
    assert report["phases"]["important_dates"]["reminders"] == 1
    assert date.fromisoformat(reminders(ctx)[0]["date"]) == date(2026, 12, 3)


def test_forgetting_a_members_relations_leaves_other_members_theirs(
    ctx: ServiceContext, wei: str
) -> None:
    enrol(ctx, "M-KEEP")
    spouse(ctx, "M-KEEP")
    with ctx.uow() as uow:
        assert relations.forget_relations(uow, wei) == {"relatives": 1, "dates": 1}
        uow.commit()
    assert relations.list_relatives(ctx, wei)["relatives"] == []
    assert relations.list_dates(ctx, wei)["dates"] == []
    assert [r["relative_id"] for r in relations.list_relatives(ctx, "M-KEEP")["relatives"]] == [
        "REL-M-KEEP"]
    run_sweep(ctx, day(11, 26), phases=PHASES)
    assert [r["member_id"] for r in reminders(ctx)] == ["M-KEEP"]


def test_a_merge_gives_the_survivor_the_duplicates_relations(
    ctx: ServiceContext, wei: str
) -> None:
    enrol(ctx, "M-SURVIVOR")
    with ctx.uow() as uow:
        assert relations.move_relations(uow, wei, "M-SURVIVOR") == {"relatives": 1, "dates": 1}
        uow.commit()
    assert relations.list_dates(ctx, wei)["dates"] == []
    (moved,) = relations.list_dates(ctx, "M-SURVIVOR")["dates"]
    assert (moved["name"], moved["next_on"]) == ("Mei", "2026-12-03")
