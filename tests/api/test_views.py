"""Views parse, call one service function and answer with what it returned."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient

from loyalty.api.idempotency import REPLAY_HEADER, fingerprint
from loyalty.domain.commands import RecordEvent, RecordTransaction, Redeem
from loyalty.services import transactions
from loyalty.services.context import Recorded
from tests.api import fakes
from tests.api.test_auth import EVENT, PURCHASE

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> fakes.Calls:
    return fakes.install(monkeypatch)


def test_fingerprint_ignores_key_order_and_whitespace() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert len(fingerprint({})) == 64


def test_equal_amounts_written_differently_are_the_same_request(
    client: FlaskClient, auth: Auth, calls: fakes.Calls
) -> None:
    line = {**PURCHASE["lines"][0], "unit_price": "10.00"}
    bodies = [
        {**PURCHASE, "lines": [line]},
        {**PURCHASE, "lines": [{**line, "unit_price": "10"}]},
        {**PURCHASE, "lines": [{**line, "unit_price": 10.0}], "currency": "CNY",
         "payments": [], "offer_codes": []},
    ]
    prints = set()
    for body in bodies:
        assert client.post("/api/v1/transactions", json=body,
                           headers=auth("pos")).status_code == 201
        prints.add(calls.last("record_transaction")[0][1].fingerprint)
    assert len(prints) == 1
    other = {**PURCHASE, "lines": [{**line, "unit_price": "10.01"}]}
    client.post("/api/v1/transactions", json=other, headers=auth("pos"))
    assert calls.last("record_transaction")[0][1].fingerprint not in prints


def test_the_transaction_command_carries_the_body_fingerprint(client: FlaskClient, auth: Auth,
                                                              calls: fakes.Calls) -> None:
    text = json.dumps(PURCHASE, indent=4)
    response = client.post("/api/v1/transactions?dry_run=false", data=text, headers=auth("pos"),
                           content_type="application/json")
    assert response.status_code == 201
    args, kwargs = calls.last("record_transaction")
    command = args[1]
    assert isinstance(command, RecordTransaction)
    assert command.fingerprint == fingerprint(command)
    assert kwargs == {"dry_run": False}


def test_a_dry_run_answers_200_and_says_so_to_the_service(client: FlaskClient, auth: Auth,
                                                          calls: fakes.Calls) -> None:
    response = client.post("/api/v1/transactions?dry_run=true", json=PURCHASE,
                           headers=auth("pos"))
    assert response.status_code == 200
    assert calls.last("record_transaction")[1] == {"dry_run": True}
    assert response.json == {"transaction_id": "T-1", **fakes.OUTCOME}


def test_a_replay_answers_with_the_original_status_and_body(
    client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = {"transaction_id": "T-1", **fakes.OUTCOME}
    monkeypatch.setattr(transactions, "record_transaction",
                        lambda ctx, cmd, dry_run=False: Recorded(201, original, replayed=True))
    response = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert response.status_code == 201
    assert response.json == original
    assert response.headers[REPLAY_HEADER] == "true"


def test_the_response_keeps_the_contract_field_order(client: FlaskClient, auth: Auth,
                                                      calls: fakes.Calls) -> None:
    response = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert list(json.loads(response.data)) == [
        "transaction_id", "member_id", "points", "balance", "tier", "rewards", "offers",
        "privileges", "decisions",
    ]


def test_the_event_command_carries_its_fingerprint(client: FlaskClient, auth: Auth,
                                                   calls: fakes.Calls) -> None:
    response = client.post("/api/v1/events", json=EVENT, headers=auth("pos"))
    assert response.status_code == 201
    command = calls.last("record_event")[0][1]
    assert isinstance(command, RecordEvent)
    assert command.fingerprint == fingerprint(command)
    assert response.json["event_id"] == "E-1"


def test_the_redemption_is_for_the_member_in_the_path(client: FlaskClient, auth: Auth,
                                                      calls: fakes.Calls) -> None:
    body = {"redemption_id": "R-1", "reward_id": "ICE-MAKER", "quantity": 2}
    response = client.post("/api/v1/members/M-1001/redemptions", json=body, headers=auth("pos"))
    assert response.status_code == 201
    command = calls.last("redeem")[0][1]
    expected = Redeem(redemption_id="R-1", member_id="M-1001", reward_id="ICE-MAKER",
                      quantity=2, fingerprint="")
    assert command == replace(expected, fingerprint=fingerprint(expected))
    assert response.json == fakes.REDEMPTION


def test_the_member_is_answered_as_the_service_gives_it(client: FlaskClient, auth: Auth,
                                                        calls: fakes.Calls) -> None:
    response = client.get("/api/v1/members/M-1001?as_of=2026-11-20T00:00:00%2B08:00",
                          headers=auth("pos"))
    assert response.status_code == 200
    assert response.json == fakes.MEMBER
    args, _ = calls.last("get_member")
    assert args[1] == "M-1001" and args[2].isoformat() == "2026-11-20T00:00:00+08:00"


def test_the_ledger_page_passes_limit_and_cursor(client: FlaskClient, auth: Auth,
                                                 calls: fakes.Calls) -> None:
    response = client.get("/api/v1/members/M-1001/ledger?limit=10&cursor=99",
                          headers=auth("marketing"))
    assert response.status_code == 200
    assert calls.last("ledger_page")[1] == {"limit": 10, "cursor": 99}
    client.get("/api/v1/members/M-1001/ledger", headers=auth("marketing"))
    assert calls.last("ledger_page")[1] == {"limit": 50, "cursor": None}


def test_the_catalogue_lists_rewards(client: FlaskClient, auth: Auth,
                                     calls: fakes.Calls) -> None:
    response = client.get("/api/v1/rewards", headers=auth("pos"))
    assert response.json == {"rewards": [fakes.REWARD]}


def test_checking_rules_reports_every_problem(client: FlaskClient, auth: Auth,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalty.services import rules

    monkeypatch.setattr(rules, "check_files", lambda files: ["earn.yaml: rule 1 has no id"])
    response = client.post("/api/v1/rules/check", json={"files": {"earn.yaml": "x"}},
                           headers=auth("marketing"))
    assert response.status_code == 200
    assert response.json == {"valid": False, "problems": ["earn.yaml: rule 1 has no id"]}


def test_a_rule_file_must_be_yaml(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/rules/check", json={"files": {"../etc/passwd": "x"}},
                           headers=auth("marketing"))
    assert response.status_code == 422
    assert list(response.json["details"]["fields"]) == ["files.../etc/passwd.key"]


def test_activation_without_a_body_uses_the_rules_directory(client: FlaskClient, auth: Auth,
                                                            calls: fakes.Calls) -> None:
    response = client.post("/api/v1/rules/activate", json={"reason": "the bundled rules"},
                           headers=auth("admin"))
    assert response.status_code == 201
    assert calls.last("activate")[0][1] is None
    assert response.json == fakes.VERSION


def test_explain_passes_member_event_and_candidate_files(client: FlaskClient, auth: Auth,
                                                         calls: fakes.Calls) -> None:
    files = {"earn.yaml": "rules: []\n"}
    response = client.post("/api/v1/rules/explain",
                           json={"member_id": "M-1001", "event": PURCHASE, "files": files},
                           headers=auth("marketing"))
    assert response.status_code == 200
    member_id, command, passed_files = calls.last("explain")[0][1:]
    assert (member_id, passed_files) == ("M-1001", files)
    assert isinstance(command, RecordTransaction)
    assert command.transaction_id == PURCHASE["transaction_id"]
    assert response.json == fakes.EXPLANATION


def test_explain_names_every_bad_field_of_the_event(client: FlaskClient, auth: Auth) -> None:
    event = {**PURCHASE, "lines": [{"sku": "A", "quantity": 0}]}
    response = client.post("/api/v1/rules/explain", json={"member_id": "M-1001", "event": event},
                           headers=auth("marketing"))
    assert response.status_code == 422
    fields = response.json["details"]["fields"]
    assert set(fields) == {"event.lines.0.category", "event.lines.0.quantity",
                           "event.lines.0.unit_price"}  # missing, zero, missing


def test_extra_keys_from_a_service_are_not_lost(client: FlaskClient, auth: Auth,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    body: dict[str, Any] = {"transaction_id": "T-1", **fakes.OUTCOME, "receipt_note": "thanks"}
    body["decisions"] = [{**body["decisions"][0], "campaign": "autumn"}]
    monkeypatch.setattr(transactions, "record_transaction",
                        lambda ctx, cmd, dry_run=False: Recorded(201, body))
    response = client.post("/api/v1/transactions", json=PURCHASE, headers=auth("pos"))
    assert response.json == body


def test_an_unencoded_plus_in_as_of_is_read_as_an_offset(client: FlaskClient, auth: Auth,
                                                         calls: fakes.Calls) -> None:
    response = client.get("/api/v1/rewards?as_of=2026-11-20T00:00:00+08:00",
                          headers=auth("pos"))
    assert response.status_code == 200
    assert calls.last("catalogue")[0][1].isoformat() == "2026-11-20T00:00:00+08:00"
