"""Each member's value as of the sweep's instant: current value, potential value (predicted),
clv and value segment (see loyalty.services.value). The models are fitted once per instant,
before the batches; each batch is then summed up in one query and predicted at once.

It runs before VIP and lifecycle, so that what they raise (and the rules reacting to it) sees
this instant's value."""

from __future__ import annotations

from collections import Counter

from loyalty.services.sweep.base import Batch, Sweep
from loyalty.services.value import Valuation, valuation_for, value_batch
from loyalty.store.uow import SqlUnitOfWork


class ValuePhase:
    """Value every member who has bought, and name their value segment."""

    name = "value"

    def __init__(self) -> None:
        self.valuations: dict[str, Valuation] = {}

    def prepare(self, sweep: Sweep) -> None:
        self.valuations[sweep.key] = valuation_for(sweep.ctx, sweep.book.policy.value,
                                                   sweep.as_of, sweep.key, sweep.now)

    def valuation(self, sweep: Sweep) -> Valuation:
        if sweep.key not in self.valuations:
            self.prepare(sweep)
        return self.valuations[sweep.key]

    def run_batch(self, sweep: Sweep, uow: SqlUnitOfWork, batch: Batch) -> Counter[str]:
        return value_batch(uow.connection, sweep.book.policy.value, self.valuation(sweep),
                           sweep.as_of, batch)
