"""Stand-ins for the service functions the API calls, so the HTTP layer is tested on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loyalty.api import operations
from loyalty.services import (
    adjustments,
    backtest,
    events,
    members,
    reports,
    rewards,
    rules,
    transactions,
)
from loyalty.services.context import Recorded

BALANCE = {"available": 1200, "pending": 4098, "debt": 0}

MEMBER = {
    "member_id": "M-1001", "name": "Ann", "email": "ann@example.com", "phone": "+8613800000000",
    "birth_date": "1990-05-01", "gender": None, "region": "Shanghai",
    "enrolled_at": "2026-01-01T00:00:00+00:00", "channel": "store", "attributes": {},
    "tags": [], "tier": "silver", "tier_since": "2026-01-01T00:00:00+00:00", "vip": False,
    "lifecycle_stage": "mature",
    "points": {"available": 1200, "pending": 4098, "debt": 0, "lifetime_earned": 5298,
               "next_expiry": {"points": 100, "expires_at": "2027-01-01T00:00:00+00:00"}},
    "privileges": [{"privilege": "priority-service", "valid_until": None}],
    "offers": [{"offer_code": "WB-1", "benefit": "bonus_points", "value": "200",
                "description": "Come back", "valid_until": "2026-12-01T00:00:00+00:00"}],
    "rewards": [{"reward_id": "ICE-MAKER", "quantity": 1, "voucher_code": "V-1",
                 "valid_until": None}],
}

OUTCOME = {
    "member_id": "M-1001",
    "points": {"earned": 4098, "pending": 4098, "clawed_back": 0},
    "balance": BALANCE,
    "tier": {"before": "silver", "after": "gold", "changed": True},
    "rewards": [{"reward_id": "ICE-MAKER", "rule_id": "fridge-gift"}],
    "offers": [],
    "privileges": ["priority-service"],
    "decisions": [{"rule_id": "base-earn", "ruleset_version": "7", "effect": "award_points",
                   "points": 4098, "reason": "1 point per 1 CNY spent"}],
}

REWARD = {"reward_id": "ICE-MAKER", "name": "Ice maker", "kind": "product",
          "description": "An ice maker", "points_cost": 3000, "stock": None,
          "stock_remaining": None, "valid_from": None, "valid_until": None}

REDEMPTION = {"redemption_id": "R-1", "member_id": "M-1001", "reward_id": "ICE-MAKER",
              "quantity": 1, "points_spent": 3000, "voucher_code": "V-2",
              "redeemed_at": "2026-11-20T06:03:00+00:00", "balance": BALANCE}

ADJUSTMENT = {"adjustment_id": "A-1", "member_id": "M-1001", "points": 500,
              "reason": "late delivery", "actor": "service-desk-3",
              "adjusted_at": "2026-11-20T06:03:00+00:00", "balance": BALANCE}

VERSION = {"version": 3, "content_hash": "abc", "activated_at": "2026-11-20T06:03:00+00:00",
           "activated_by": "ops", "active": True}

BACKTEST = {
    "period": {"from": "2026-11-01T00:00:00+00:00", "to": "2026-11-30T00:00:00+00:00",
               "ignore_windows": False, "shard": "1/1"},
    "draft": {"label": "draft"}, "against": {"label": "the versions in force (1)"},
    "differing_decisions": 0, "points_difference": 0, "cost_difference": "0.00",
}
EXPLANATION = {"ruleset_version": "3", "decisions": OUTCOME["decisions"],
               "lines": ["base-earn fires: 1 point per 1 CNY spent"]}
SWEEP = {"as_of": "2026-11-20T00:00:00+00:00", "shard": "1/2", "ruleset_version": "3",
         "phases": {"points": {"members": 1}}}


class Calls:
    """What the fakes were called with, by function name."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}

    def record(self, name: str, body: Any) -> Callable[..., Any]:
        def fake(*args: Any, **kwargs: Any) -> Any:
            self.calls.setdefault(name, []).append((args, kwargs))
            return body(*args, **kwargs) if callable(body) else body

        return fake

    def last(self, name: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return self.calls[name][-1]


def install(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Replace every service function the views call with a fake answering the contract."""
    calls = Calls()
    fakes: list[tuple[Any, str, Any]] = [
        (members, "enrol", Recorded(201, MEMBER)),
        (members, "get_member", MEMBER),
        (members, "ledger_page", {"member_id": "M-1001", "entries": [], "next_cursor": None}),
        (members, "tier_history", {"member_id": "M-1001", "tier": "gold", "review_at": None,
                                   "changes": []}),
        (transactions, "record_transaction",
         Recorded(201, {"transaction_id": "T-1", **OUTCOME})),
        (events, "record_event",
         Recorded(201, {"event_id": "E-1", "type": "complaint", **OUTCOME})),
        (rewards, "catalogue", [REWARD]),
        (rewards, "redeem", Recorded(201, REDEMPTION)),
        (adjustments, "adjust", Recorded(201, ADJUSTMENT)),
        (rules, "check_files", []),
        (rules, "explain", EXPLANATION),
        (backtest, "backtest", BACKTEST),
        (rules, "activate", VERSION),
        (rules, "list_versions", [VERSION]),
        (rules, "get_version", {**VERSION, "files": {"earn.yaml": "rules: []\n"}}),
        (operations, "run_sweep", SWEEP),
        (reports, "overview", {"members": 1, "vip": 0, "pyramid": [], "lifecycle": {}}),
        (reports, "winback", {"as_of": "2026-11-20T06:00:00+00:00", "currency": "CNY",
                              "offers": [], "experiments": []}),
        (reports, "returned_rewards", {"totals": [], "rewards": []}),
    ]
    for module, name, body in fakes:
        monkeypatch.setattr(module, name, calls.record(name, body), raising=False)
    return calls
