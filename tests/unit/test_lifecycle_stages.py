"""Growing or mature: the lifecycle stage expression on small hand-made histories, as the
database computes it (SQLite, or PostgreSQL with LOYALTY_TEST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert, select

from loyalty.domain.policy import LifecyclePolicy
from loyalty.services.sweep.lifecycle import purchases, stage_expression
from loyalty.store import tables as t
from loyalty.store.db import make_engine

AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)
#: the default policy with the frequency test on, as rules/program.yaml has it
POLICY = LifecyclePolicy(visits_drop_percent=50)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def member(engine: Engine, member_id: str, *, member_for: int = 1000,
           bought: tuple[tuple[int, str], ...] = (),
           returned: tuple[tuple[int, str], ...] = ()) -> None:
    """A member enrolled `member_for` days before AS_OF, with purchases (days before AS_OF,
    amount) and purchases returned in part or in full (days before, amount kept)."""
    at = [AS_OF - timedelta(days=days) for days, _ in (*bought, *returned)]
    enrolled = AS_OF - timedelta(days=member_for)
    with engine.begin() as conn:
        conn.execute(insert(t.members).values(
            member_id=member_id, enrolled_at=enrolled, attributes={}, tags=[], tier="member",
            vip=False, lifecycle_stage="new", categories=[], created_at=enrolled,
            last_purchase_at=max(at) if at else None))
        rows = [(days, amount, amount) for days, amount in bought]
        rows += [(days, "1000.00", kept) for days, kept in returned]
        for n, (days, total, kept) in enumerate(rows):
            when = AS_OF - timedelta(days=days)
            conn.execute(insert(t.transactions).values(
                transaction_id=f"{member_id}-{n}", member_id=member_id, type="purchase",
                occurred_at=when, recorded_at=when, total=Decimal(total),
                returned_total=Decimal(total) - Decimal(kept)))


def stages(engine: Engine, policy: LifecyclePolicy = POLICY) -> dict[str, str]:
    m = t.members.c
    counts = purchases(policy, AS_OF, select(m.member_id))
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.member_id, stage_expression(policy, AS_OF, counts).label("stage"))
            .select_from(t.members.outerjoin(counts, counts.c.member_id == m.member_id)))
        return {row.member_id: row.stage for row in rows}


def monthly(first: int, last: int, amount: str = "100.00") -> tuple[tuple[int, str], ...]:
    """A purchase every 30 days from `first` days ago to `last` days ago."""
    return tuple((days, amount) for days in range(first, last - 1, -30))


def test_spend_at_the_threshold_is_growing_and_a_cent_below_is_mature(engine: Engine) -> None:
    # the year before the last 90 days: 365.00, i.e. 90.00 per 90 days; 20% more is 108.00
    member(engine, "AT", bought=((200, "365.00"), (10, "108.00")))
    member(engine, "BELOW", bought=((200, "365.00"), (10, "107.99")))
    assert stages(engine) == {"AT": "growing", "BELOW": "mature"}


def test_visits_at_the_threshold_are_growing_whatever_the_spend(engine: Engine) -> None:
    policy = replace(POLICY, growing_measure="visits", growing_history_days=360,
                     visits_drop_percent=0)
    earlier = tuple((days, "100.00") for days in range(100, 451, 35))  # 10 visits: 2.5 per 90
    member(engine, "THREE", bought=(*earlier, (5, "1.00"), (20, "1.00"), (40, "1.00")))
    member(engine, "TWO", bought=(*earlier, (5, "5000.00"), (40, "5000.00")))
    assert stages(engine, policy) == {"THREE": "growing", "TWO": "mature"}
    assert stages(engine) == {"THREE": "mature", "TWO": "growing"}  # the same by spend


def test_a_member_with_no_earlier_purchase_is_growing(engine: Engine) -> None:
    member(engine, "FIRST", bought=((20, "50.00"),))  # a member for years, a first purchase
    member(engine, "JOINED", member_for=40, bought=((35, "50.00"),))  # past new_days
    member(engine, "JUST", member_for=10, bought=((5, "50.00"),))
    assert stages(engine) == {"FIRST": "growing", "JOINED": "growing", "JUST": "new"}


def test_a_steady_member_is_mature_and_one_buying_more_is_growing(engine: Engine) -> None:
    member(engine, "STEADY", bought=monthly(425, 5))
    member(engine, "MORE", bought=(*monthly(425, 5), (2, "100.00")))
    member(engine, "LESS", bought=(*monthly(425, 95), (10, "60.00"), (40, "60.00")))
    assert stages(engine) == {"STEADY": "mature", "MORE": "growing", "LESS": "mature"}


def test_a_short_membership_is_averaged_over_its_own_length(engine: Engine) -> None:
    """Monthly for 200 days: over the 110 days before the last 90 that is 400, or 327 per 90
    days, as usual; averaged over a whole year it would look like growth."""
    member(engine, "YOUNG", member_for=200, bought=monthly(185, 5))
    assert stages(engine) == {"YOUNG": "mature"}
    assert stages(engine, replace(POLICY, growing_history_days=110)) == {"YOUNG": "mature"}


def test_spend_counts_net_of_returns(engine: Engine) -> None:
    member(engine, "KEPT", bought=((200, "365.00"),), returned=((10, "1000.00"),))
    member(engine, "GAVE_BACK", bought=((200, "365.00"),), returned=((10, "50.00"),))
    member(engine, "ALL_BACK", bought=((200, "365.00"),), returned=((10, "0.00"),))
    assert stages(engine) == {"KEPT": "growing", "GAVE_BACK": "mature",
                              "ALL_BACK": "mature"}


def test_recency_and_pace_come_before_growth(engine: Engine) -> None:
    member(engine, "QUIET", bought=((70, "5000.00"),))  # past declining_days
    member(engine, "SLOWER", bought=(*monthly(365, 95), (10, "5000.00")))  # 1 visit in 90
    assert stages(engine) == {"QUIET": "declining", "SLOWER": "declining"}


@pytest.mark.parametrize(("percent", "stage"), [(0, "growing"), (20, "mature")])
def test_growing_percent_sets_how_much_more_is_growth(engine: Engine, percent: int,
                                                      stage: str) -> None:
    member(engine, "SAME", bought=((200, "365.00"), (10, "90.00")))  # exactly the usual
    assert stages(engine, replace(POLICY, growing_percent=percent)) == {"SAME": stage}


def test_large_amounts_do_not_overflow(engine: Engine) -> None:
    member(engine, "BIG", bought=((200, "900000000000.00"), (10, "900000000000.00")))
    assert stages(engine) == {"BIG": "growing"}
