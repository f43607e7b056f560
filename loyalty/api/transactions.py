"""The POS callback: purchases and returns, recorded exactly once."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from loyalty.api.auth import require_roles
from loyalty.api.context import service_context
from loyalty.api.idempotency import REPLAY_DOC, recorded_response, stamped
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas import requests as rq
from loyalty.api.schemas import responses as rs
from loyalty.domain.commands import RecordTransaction
from loyalty.services import transactions

blp = Blueprint("transactions", __name__, description="Purchases and returns from the till")


@blp.route("/transactions")
class Transactions(MethodView):
    @require_roles("pos")
    @blp.arguments(rq.DryRunQuerySchema(), location="query", as_kwargs=True)
    @blp.arguments(rq.TransactionSchema(live=True))
    @blp.response(201, rs.TransactionOutcome, headers=REPLAY_DOC)
    @blp.alt_response(200, schema=rs.TransactionOutcome, description="Dry run: nothing recorded")
    @blp.alt_response(404, schema=rs.Error, description="`unknown_member`")
    @blp.alt_response(409, schema=rs.Error, description="`idempotency_conflict`")
    def post(self, command: RecordTransaction, dry_run: bool) -> tuple[Any, ...]:
        """Record a purchase or return; the same transaction_id again replays the answer."""
        recorded = transactions.record_transaction(
            service_context(), stamped(command), dry_run=dry_run
        )
        return recorded_response(recorded, dry_run=dry_run)
