"""The floor a purchase cannot go below with the project's fixed technology choices.

`POST /floor` does only what every purchase must do with the fixed stack, and none of the
ledger: the service's request validation (flask-smorest and its `Blueprint`, the real
`TransactionSchema(live=True)`), one evaluation of the bundled rules by the real
durable_rules-backed rule book, the dump of a receipt through the real `TransactionOutcome`
schema, and the baseline's one ORM insert and commit. Members, balances, limits, idempotency
and authentication are left out: the member and the statistics are fixed, the balance is
made up. It is not a competitor to the service; it shows how much of the latency budget over
the baseline the fixed choices take on their own. Served by gunicorn like the baseline, with
`FLOOR_DATABASE_URL` naming the database (`bench.baseline_app.prepare` creates the table).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from bench.baseline_app import engine_for, insert_receipt
from loyalty.api import Api
from loyalty.api.context import EXTENSION, service_context
from loyalty.api.parsing import Blueprint
from loyalty.api.schemas.requests import DryRunQuerySchema, TransactionSchema
from loyalty.api.schemas.responses import TransactionOutcome
from loyalty.config import Settings
from loyalty.domain.commands import RecordTransaction
from loyalty.domain.decisions import Decision, GrantReward, RuleBook
from loyalty.domain.effects import resolve_points
from loyalty.domain.model import EvaluationInput, Member, MemberStats
from loyalty.engine import build_rulebook, read_rule_dir
from loyalty.services.context import ServiceContext
from loyalty.services.decide import decision_view, voucher_code
from loyalty.services.occurrences import purchase_occurrence
from loyalty.services.rulebooks import RuleBookProvider
from loyalty.services.timing import iso

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
ENROLLED_AT = datetime(2025, 3, 1, tzinfo=UTC)
#: An ordinary member who has bought a few times before (fixed: nothing is read per request).
STATS = MemberStats(
    spend_30d=Decimal("300"), spend_90d=Decimal("900"), spend_365d=Decimal("2400"),
    visits_30d=1, visits_90d=3, visits_365d=6, lifetime_spend=Decimal("3100"),
    lifetime_visits=8, days_since_last_purchase=12, categories_bought=("accessories", "appliances"),
    points_available=1200, points_lifetime=3100, points_365d=2400,
)


class FixedRules(RuleBookProvider):
    """The active rule book the live schema asks for (the programme's currency): always one
    book built at startup, never looked up in the database."""

    def __init__(self, engine: Engine, settings: Settings, book: RuleBook) -> None:
        super().__init__(engine, settings)
        self._fixed = book

    def current(self) -> RuleBook:
        return self._fixed

    def at(self, instant: datetime) -> RuleBook:
        return self._fixed


blp = Blueprint("floor", __name__)


@blp.post("/floor")
@blp.arguments(DryRunQuerySchema(), location="query", as_kwargs=True)
@blp.arguments(TransactionSchema(live=True))
@blp.response(201, TransactionOutcome)
def floor(command: RecordTransaction, dry_run: bool) -> dict[str, Any]:
    """Validate, evaluate the rules, insert one row, answer a receipt."""
    context = service_context()
    book = context.rules.current()
    occurrence = purchase_occurrence(command)
    member = Member(member_id=command.member_id, enrolled_at=ENROLLED_AT)
    decisions = book.evaluate(EvaluationInput(occurrence, member, STATS, command.occurred_at))
    points = resolve_points(decisions, occurrence)
    earned = sum(points.values())
    insert_receipt(context.engine, command.transaction_id)
    rewards = [_reward(d, d.effect, command.occurred_at)
               for d in decisions if isinstance(d.effect, GrantReward)]
    return {
        "transaction_id": command.transaction_id,
        "member_id": command.member_id,
        "points": {"earned": earned, "pending": earned, "clawed_back": 0},
        "balance": {"available": STATS.points_available, "pending": earned, "debt": 0},
        "tier": {"before": member.tier, "after": member.tier, "changed": False},
        "rewards": rewards,
        "offers": [],
        "privileges": [],
        "decisions": [decision_view(d, points.get(i)) for i, d in enumerate(decisions)],
    }


def _reward(decision: Decision, effect: GrantReward, at: datetime) -> dict[str, Any]:
    """A granted reward as the receipt shows it (the stock and the voucher row left out)."""
    until = (at + timedelta(days=effect.valid_days)).astimezone(UTC) if effect.valid_days else None
    return {"reward_id": effect.reward_id, "rule_id": decision.rule_id,
            "quantity": effect.quantity, "voucher_code": voucher_code(), "valid_until": iso(until)}


def create_app() -> Flask:
    url = os.environ["FLOOR_DATABASE_URL"]
    engine = engine_for(url)
    settings = Settings(database_url=url)
    book = build_rulebook(read_rule_dir(RULES_DIR), "1")
    app = Flask("floor")
    app.config.update(API_TITLE="floor", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # what the live schema reads: the clock, the future tolerance, the programme's currency
    app.extensions[EXTENSION] = ServiceContext(
        settings=settings, engine=engine, rules=FixedRules(engine, settings, book)
    )
    api = Api(app)
    api.register_blueprint(blp)
    return app
