"""Merging members while tills keep selling to the duplicate: each purchase lands before the
merge (and moves with it) or is refused after it, never lost; merges crossing each other; the
sweep leaves a merged member alone; and the survivor replays both histories as one person."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from loyalty.domain.errors import MemberMerged
from loyalty.domain.merge import MergeMembers
from loyalty.engine import read_rule_dir
from loyalty.services.audit import Actor
from loyalty.services.backtest import backtest
from loyalty.services.context import ServiceContext
from loyalty.services.merge import merge_members
from loyalty.services.replay import MemoryState, replay
from loyalty.services.sweep.base import Batch, Shard
from loyalty.services.verify import verify_ledger
from loyalty.store import tables as t
from loyalty.store.history import HistoryFilter, HistoryReader
from tests.conftest import RULES_DIR
from tests.integration.helpers import T0, enrol, fingerprint, purchase

ANN, DUP = "M-1001", "M-1002"
FRIDGE = ("FRIDGE-300", "appliances", 1, "3999.00")
TILLS = 4
ADMIN = Actor("admin-ann", "key")


def merge(ctx: ServiceContext, merge_id: str = "MRG-1") -> Any:
    cmd = MergeMembers(merge_id=merge_id, duplicate_id=DUP, reason="enrolled twice",
                       member_id=ANN, fingerprint=fingerprint(m=merge_id))
    return merge_members(ctx, cmd, ADMIN)


def scalar(ctx: ServiceContext, query: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(query).scalar()


def test_a_purchase_racing_the_merge_lands_before_it_or_is_refused_after_it(
        ctx: ServiceContext) -> None:
    enrol(ctx, ANN)
    enrol(ctx, DUP)
    accepted: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    merged = threading.Event()
    started = threading.Semaphore(0)

    def till(number: int) -> None:
        sale = 0
        after = 0
        while after < 2:  # keep selling until two sales after the merge were answered
            tx_id = f"S-{number}-{sale}"
            sale += 1
            done = merged.is_set()
            try:
                purchase(ctx, tx_id, [FRIDGE], member_id=DUP,
                         at=T0 - timedelta(minutes=sale))
                accepted.append(tx_id)
            except MemberMerged as refusal:
                assert refusal.details["merged_into"] == ANN
                refused.append(tx_id)
            except BaseException as error:  # reported below
                errors.append(error)
                return
            started.release()
            after += done

    tills = [threading.Thread(target=till, args=(n,)) for n in range(TILLS)]
    for thread in tills:
        thread.start()
    for _ in range(2 * TILLS):
        started.acquire(timeout=60)  # the tills are selling
    answer = merge(ctx)
    merged.set()
    for thread in tills:
        thread.join(120)
    assert errors == []
    assert answer.status == 201
    assert len(accepted) >= 2 * TILLS and len(refused) >= 2 * TILLS

    tx, lots, e = t.transactions.c, t.point_lots.c, t.ledger_entries.c
    for tx_id in accepted:  # recorded, moved to the survivor, its points in its lot there
        assert scalar(ctx, select(tx.member_id).where(tx.transaction_id == tx_id)) == ANN
        earned = scalar(ctx, select(func.sum(e.points)).where(e.source_id == tx_id,
                                                              e.kind == "earn"))
        held = scalar(ctx, select(func.sum(lots.remaining)).where(
            lots.source_id == tx_id, lots.member_id == ANN))
        assert earned and held == earned, tx_id
    for tx_id in refused:  # nothing recorded at all
        assert scalar(ctx, select(func.count()).where(tx.transaction_id == tx_id)) == 0
        assert scalar(ctx, select(func.count()).where(e.source_id == tx_id)) == 0
    assert scalar(ctx, select(func.count()).where(lots.member_id == DUP,
                                                  lots.remaining > 0)) == 0
    assert scalar(ctx, select(func.count()).select_from(t.transactions)) == len(accepted)
    assert verify_ledger(ctx) == []


def test_merges_crossing_each_other_never_deadlock_and_one_wins(ctx: ServiceContext) -> None:
    enrol(ctx, ANN)
    enrol(ctx, DUP)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def fold(survivor: str, duplicate: str) -> None:
        cmd = MergeMembers(merge_id=f"MRG-{survivor}", duplicate_id=duplicate,
                           reason="enrolled twice", member_id=survivor,
                           fingerprint=fingerprint(m=survivor))
        barrier.wait()
        try:
            outcomes.append(str(merge_members(ctx, cmd, ADMIN).status))
        except MemberMerged as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=fold, args=pair)
               for pair in ((ANN, DUP), (DUP, ANN))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["201", "member_merged"]
    assert verify_ledger(ctx) == []


def test_the_sweep_leaves_a_merged_member_alone(ctx: ServiceContext) -> None:
    enrol(ctx, ANN)
    enrol(ctx, DUP)
    merge(ctx)
    batch = Batch(Shard(), None, "M-9999", 100)
    with ctx.engine.connect() as conn:
        swept = set(conn.execute(batch.member_ids()).scalars())
    assert swept == {ANN}


def test_the_survivor_replays_both_histories_as_one_person(ctx: ServiceContext) -> None:
    enrol(ctx, ANN)
    enrol(ctx, DUP)
    purchase(ctx, "S-1", [FRIDGE], member_id=DUP, at=T0 - timedelta(days=3))
    purchase(ctx, "S-2", [FRIDGE], member_id=ANN, at=T0 - timedelta(days=2))
    merge(ctx)
    book = ctx.rules.current()
    steps = list(replay(HistoryReader(ctx.engine, HistoryFilter(member_id=ANN)),
                        lambda _: book, MemoryState()))
    assert [(s.item.source_id, s.refused) for s in steps] == [
        (f"enrolment:{ANN}", None), (f"enrolment:{DUP}", None), ("S-1", None), ("S-2", None)]
    report = backtest(ctx, read_rule_dir(RULES_DIR), start=T0 - timedelta(days=10),
                      end=T0 + timedelta(days=1))
    assert report["replay_check"] == {"compared": 2, "differences": 0, "examples": []}
    assert report["occurrences"]["purchases"] == 2
