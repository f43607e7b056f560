"""What every sweep phase shares: the run's instant, its shard, a batch of locked members,
and raising an event that the rules react to, once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, select

from loyalty.domain.decisions import RuleBook
from loyalty.domain.model import Occurrence
from loyalty.services.context import ServiceContext
from loyalty.store import tables as t
from loyalty.store.uow import SqlUnitOfWork

BUCKETS = 1024


def run_key(as_of: datetime) -> str:
    """How a sweep's instant is recorded: in UTC, so one instant is one run whatever its offset."""
    return as_of.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based): members whose bucket % count == index - 1."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, _, count = text.partition("/")
        shard = cls(int(index), int(count or 1))
        if not (1 <= shard.index <= shard.count <= BUCKETS):
            raise ValueError(f"shard must be K/N with 1 <= K <= N <= {BUCKETS}, not {text!r}")
        return shard

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def predicate(self) -> ColumnElement[bool]:
        if self.count == 1:
            return t.members.c.bucket >= 0
        return (t.members.c.bucket % self.count) == (self.index - 1)


@dataclass(frozen=True)
class Batch:
    """Members of this shard with lo < member_id <= hi, locked for the batch's transaction."""

    shard: Shard
    lo: str | None
    hi: str
    size: int

    def members(self) -> ColumnElement[bool]:
        """A predicate on members: in this batch (a member merged into another is not swept:
        its survivor is)."""
        m = t.members.c
        conditions = [m.member_id <= self.hi, self.shard.predicate(), m.merged_into.is_(None)]
        if self.lo is not None:
            conditions.append(m.member_id > self.lo)
        return and_(*conditions)

    def member_ids(self) -> Any:
        """A subquery of the batch's member ids, for tables keyed by member."""
        return select(t.members.c.member_id).where(self.members())


@dataclass
class Sweep:
    """One sweep run: `as_of` is the instant every time-based rule is evaluated at."""

    ctx: ServiceContext
    book: RuleBook
    as_of: datetime
    now: datetime
    shard: Shard
    previous_as_of: datetime | None = None

    @property
    def key(self) -> str:
        return run_key(self.as_of)

    def emit(self, uow: SqlUnitOfWork, member_id: str, kind: str, discriminator: str,
             attributes: dict[str, Any], at: datetime | None = None) -> bool:
        """Raise event `kind` for a locked member once per discriminator; rules react to it.

        The member is read afresh (earlier statements of the batch may have changed it).
        Returns False when this event was already raised (by an earlier or interrupted run).
        """
        from loyalty.services.events import react

        key = f"{kind}:{member_id}:{discriminator}"
        if uow.idempotency.get("sweep", key) is not None:
            return False
        member = uow.members.get(member_id)
        if member is None:
            return False
        occurrence = Occurrence(kind=kind, source_id=f"sweep:{key}",
                                occurred_at=at or self.as_of, attributes=attributes)
        _, body = react(self.ctx, self.book, uow, member, occurrence, origin="sweep",
                        standing=False)
        uow.idempotency.put("sweep", key, member_id=member.member_id,
                            fingerprint=self.key[:64], status=201, response=body,
                            created_at=self.now)
        return True


class Phase(Protocol):
    """A step of the sweep; each batch runs in its own transaction with its members locked."""

    name: str

    def prepare(self, sweep: Sweep) -> None:
        """Work done once per run before the batches (e.g. a rank threshold)."""

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        """Do this phase for the batch's members; return counts of what changed."""
        ...
