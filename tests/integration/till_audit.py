"""What the tills were told, held against what the database holds: every acknowledged write
recorded exactly once with the answer the till got, nothing recorded that no till was told of
(beyond requests whose answer was lost), nothing recorded for a refusal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from loyalty.store import tables as t
from loyalty.store.db import make_engine
from tests.integration.tills import REFUSED, UNANSWERED, UNEXPECTED, Key, TillLogs

SCOPES = ("transaction", "event", "redemption")


@dataclass
class Audit:
    """What is wrong, one line per write; every list is empty when nothing is."""

    acknowledged: int
    lost: list[str]
    doubled: list[str]
    unexplained: list[str]  # recorded, but no till was told and none lost its answer
    refused_but_recorded: list[str]
    answers_differ: list[str]  # the stored answer, or another till's, differs from the one got

    def problems(self) -> dict[str, list[str]]:
        return {name: value for name, value in vars(self).items()
                if isinstance(value, list) and value}


def _counts(conn: Any, query: Any) -> dict[Key, int]:
    return {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}


def _recorded(database_url: str) -> tuple[dict[Key, int], dict[Key, int], dict[Key, int],
                                          dict[Key, Any]]:
    """Per write: its rows in the history and in its own table, the points of its ledger
    entries of its own kind, and the stored answer."""
    h, e, mr, k = t.history.c, t.ledger_entries.c, t.member_rewards.c, t.idempotency_keys.c
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            history = _counts(conn, select(h.source_type, h.source_id, func.count())
                              .where(h.source_type.in_(SCOPES))
                              .group_by(h.source_type, h.source_id))
            rows = _counts(conn, select(mr.source_type, mr.source_id, func.count())
                           .where(mr.source_type == "redemption")
                           .group_by(mr.source_type, mr.source_id))
            rows.update({("transaction", row[0]): 1 for row in conn.execute(
                select(t.transactions.c.transaction_id))})
            rows.update({("event", row[0]): 1 for row in conn.execute(
                select(t.events.c.event_id).where(t.events.c.origin.is_(None)))})
            points = _counts(conn, select(e.source_type, e.source_id, func.sum(e.points))
                             .where(e.kind.in_(("earn", "redeem")),
                                    e.source_type.in_(("transaction", "redemption")))
                             .group_by(e.source_type, e.source_id))
            stored = {(row.scope, row.key): row.response for row in conn.execute(
                select(k.scope, k.key, k.response).where(k.scope.in_(SCOPES)))}
    finally:
        engine.dispose()
    return history, rows, points, stored


def _points_of(scope: str, body: dict[str, Any]) -> int | None:
    """The points a write's own ledger entries must add up to, from the answer the till got."""
    if scope == "redemption":
        return -int(body["points_spent"])
    if scope == "transaction" and body.get("returned_value") is None:
        return int(body["points"]["earned"])
    return None


def audit(database_url: str, logs: TillLogs) -> Audit:
    history, rows, points, stored = _recorded(database_url)
    writes = logs.acknowledged()
    lost: list[str] = []
    doubled: list[str] = []
    differ: list[str] = []
    for (scope, key), answers in sorted(writes.items()):
        body = answers[0]["body"]
        in_history, in_table = history.get((scope, key), 0), rows.get((scope, key), 0)
        where = f"{in_history} times in the history, {in_table} in its own table"
        if min(in_history, in_table) == 0:
            lost.append(f"{scope} {key}: acknowledged, yet {where}")
        elif max(in_history, in_table) > 1:
            doubled.append(f"{scope} {key}: {where}")
        expected = _points_of(scope, body)
        if expected is not None and points.get((scope, key), 0) != expected:
            got = points.get((scope, key), 0)
            (doubled if abs(got) > abs(expected) else lost).append(
                f"{scope} {key}: its entries hold {got} points, the till was told {expected}")
        if stored.get((scope, key)) != body:
            differ.append(f"{scope} {key}: stored answer {stored.get((scope, key))} != {body}")
        differ += [f"{scope} {key}: till {a['till']} got {a['body']}, till "
                   f"{answers[0]['till']} got {body}" for a in answers[1:] if a["body"] != body]
    unanswered = {(row["scope"], row["key"]) for row in logs.with_verdict(UNANSWERED)}
    unexplained = [f"{scope} {key}: recorded, never acknowledged" for scope, key in
                   sorted(set(stored) - set(writes) - unanswered)]
    refused = [f"{row['scope']} {row['key']}: refused with {row['status']}, yet recorded"
               for row in logs.with_verdict(REFUSED)
               if (row["scope"], row["key"]) in stored or (row["scope"], row["key"]) in history]
    return Audit(acknowledged=len(writes), lost=lost, doubled=doubled, unexplained=unexplained,
                 refused_but_recorded=refused, answers_differ=differ)


def unexpected_answers(logs: TillLogs) -> list[str]:
    """Answers a correct service never gives: a 5xx, a wrong status, a replay that differs."""
    return [f"till {row['till']} {row['kind']} {row['key']}: {row['status']} {row['body']}"
            for row in logs.with_verdict(UNEXPECTED)]


def verdicts(logs: TillLogs) -> Counter[str]:
    return Counter(f"{row['kind']} {row['verdict']}" for row in logs.answers)
