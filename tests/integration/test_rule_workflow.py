"""Rule versions as marketing's workflow, through the API and the command line: drafts (JSON and
multipart), export byte for byte, approval, schedules and their cancellation, rollback, diff,
and the append-only audit log."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from loyalty.cli import main
from loyalty.engine import read_rule_dir, rules_content_hash
from loyalty.services.context import ServiceContext, utcnow
from loyalty.services.keys import create_key, revoke_key
from loyalty.services.rules import activate
from tests.conftest import RULES_DIR
from tests.integration.helpers import THANK_YOU

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def people(ctx: ServiceContext) -> Callable[[str, str], dict[str, str]]:
    """Authorization headers of a named person with a role."""
    ctx.clock = lambda: NOW

    def person(name: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_key(ctx, role, name)[0]}"}

    return person


def thank_you() -> dict[str, str]:
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].rstrip() + "\n" + THANK_YOU
    return files


def with_approval(files: dict[str, str]) -> dict[str, str]:
    program = files["program.yaml"].replace("approval: not_required", "approval: required")
    return {**files, "program.yaml": program}


def cli(ctx: ServiceContext, *args: str) -> Any:
    env = {"LOYALTY_DATABASE_URL": ctx.settings.database_url,
           "LOYALTY_RULES_DIR": str(RULES_DIR)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_a_draft_uploaded_as_a_form_is_checked_and_read_back_file_by_file(
    client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    mei = people("Mei", "marketing")
    files = thank_you()
    files["earning.yaml"] = files["earning.yaml"].replace("is: gold", "is: glod", 1)
    form = {"note": "thank-you on every purchase",
            "files": [(io.BytesIO(body.encode()), name) for name, body in files.items()]}
    response = client.post("/api/v1/rules/drafts", data=form, headers=mei,
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    draft = response.json
    assert (draft["author"], draft["status"], draft["valid"]) == ("Mei", "draft", False)
    assert len(draft["problems"]) == 1 and draft["problems"][0].startswith("earning.yaml:")
    assert draft["files"] == sorted(files)
    read = client.get(f"/api/v1/rules/drafts/{draft['draft_id']}/files/earning.yaml",
                      headers=mei)
    assert read.status_code == 200 and read.mimetype == "text/plain"
    assert read.get_data(as_text=True) == files["earning.yaml"]
    listed = client.get("/api/v1/rules/drafts?status=draft", headers=mei).json["drafts"]
    assert [d["draft_id"] for d in listed] == [draft["draft_id"]]
    missing = client.get(f"/api/v1/rules/drafts/{draft['draft_id']}/files/nope.yaml",
                         headers=mei)
    assert missing.status_code == 404 and missing.json["code"] == "unknown_draft"


def test_a_draft_with_no_files_or_a_bad_file_name_changes_nothing(
    client: FlaskClient, people: Callable[[str, str], dict[str, str]], ctx: ServiceContext
) -> None:
    mei = people("Mei", "marketing")
    empty = client.post("/api/v1/rules/drafts", json={"files": {}}, headers=mei)
    bad = client.post("/api/v1/rules/drafts", json={"files": {"../x.yaml": "a: 1"}},
                      headers=mei)
    assert (empty.status_code, bad.status_code) == (422, 422)
    assert client.get("/api/v1/rules/drafts", headers=mei).json["drafts"] == []


def test_replacing_an_approved_draft_voids_its_approval_and_a_withdrawn_draft_is_final(
    client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    mei, li = people("Mei", "marketing"), people("Li", "marketing_lead")
    draft = client.post("/api/v1/rules/drafts", json={"files": thank_you()}, headers=mei).json
    url = f"/api/v1/rules/drafts/{draft['draft_id']}"
    assert client.post(f"{url}/submit", headers=mei).status_code == 200
    assert client.post(f"{url}/approve", headers=li).json["status"] == "approved"
    replaced = client.put(url, json={"files": read_rule_dir(RULES_DIR)}, headers=li)
    assert replaced.status_code == 200
    assert (replaced.json["status"], replaced.json["decided_by"]) == ("draft", None)
    assert replaced.json["contributors"] == ["Mei", "Li"]
    assert client.post(f"{url}/submit", headers=mei).status_code == 200
    own = client.post(f"{url}/approve", headers=li)  # Li changed it: Li's own change now
    assert own.status_code == 403 and own.json["code"] == "own_change"
    withdrawn = client.post(f"{url}/withdraw", json={"reason": "not this month"}, headers=mei)
    assert withdrawn.json["status"] == "withdrawn"
    again = client.post(f"{url}/activate", json={"reason": "x"}, headers=mei)
    assert again.status_code == 409 and again.json["code"] == "change_refused"


def test_a_plain_marketing_key_cannot_approve(
    client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    mei, jo = people("Mei", "marketing"), people("Jo", "marketing")
    draft = client.post("/api/v1/rules/drafts", json={"files": thank_you()}, headers=mei).json
    client.post(f"/api/v1/rules/drafts/{draft['draft_id']}/submit", headers=mei)
    response = client.post(f"/api/v1/rules/drafts/{draft['draft_id']}/approve", headers=jo)
    assert response.status_code == 403 and response.json["code"] == "forbidden"


def test_export_writes_a_version_byte_for_byte_and_it_reactivates_as_no_change(
    ctx: ServiceContext, tmp_path: Path
) -> None:
    files = thank_you()
    files["earning.yaml"] = files["earning.yaml"].replace("\n", "\r\n")  # as a Windows editor
    activate(ctx, files, "Mei", reason="thank-you")
    result = cli(ctx, "rules", "export", "1", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    written = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert written == {name: body.encode() for name, body in files.items()}
    assert rules_content_hash(read_rule_dir(tmp_path / "out")) == rules_content_hash(files)
    again = cli(ctx, "rules", "activate", str(tmp_path / "out"), "--reason", "same again")
    assert again.exit_code == 0 and "rules unchanged: version 1" in again.output
    refused = cli(ctx, "rules", "export", "1", str(tmp_path / "out"))
    assert refused.exit_code == 2 and "--force" in refused.output


def test_the_command_line_cannot_activate_an_unapproved_set_but_can_an_approved_one(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]],
    tmp_path: Path
) -> None:
    activate(ctx, with_approval(read_rule_dir(RULES_DIR)), "setup", reason="two people")
    change = with_approval(thank_you())
    folder = tmp_path / "draft"
    folder.mkdir()
    for name, body in change.items():
        (folder / name).write_text(body, encoding="utf-8")
    refused = cli(ctx, "rules", "activate", str(folder), "--reason", "thank-you")
    assert refused.exit_code == 1 and "approval" in refused.output
    uploaded = cli(ctx, "rules", "draft", str(folder), "--note", "thank-you")
    assert uploaded.exit_code == 0, uploaded.output
    draft_id = uploaded.output.split()[1]
    mei, li = people("Mei", "marketing"), people("Li", "marketing_lead")
    assert client.post(f"/api/v1/rules/drafts/{draft_id}/submit", headers=mei).status_code == 200
    assert client.post(f"/api/v1/rules/drafts/{draft_id}/approve", headers=li).status_code == 200
    done = cli(ctx, "rules", "activate", str(folder), "--reason", "approved by Li")
    assert done.exit_code == 0 and "activated rules version 2" in done.output, done.output
    draft = client.get(f"/api/v1/rules/drafts/{draft_id}", headers=mei).json
    assert (draft["status"], draft["version"]) == ("activated", 2)
    refusals = client.get("/api/v1/audit?action=rules.refused",
                          headers=people("boss", "admin")).json["entries"]
    assert len(refusals) == 1 and refusals[0]["actor_kind"] == "cli"
    assert refusals[0]["details"]["code"] == "approval_required"


def test_a_schedule_needs_a_lead_time_and_switches_exactly_at_its_instant(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    mei = people("Mei", "marketing")
    ctx.book()  # the bundled rules: version 1
    soon = client.post("/api/v1/rules/activate", headers=mei, json={
        "files": thank_you(), "reason": "x", "at": (NOW + timedelta(seconds=0.5)).isoformat()})
    assert soon.status_code == 422 and "at" in soon.json["details"]["fields"]
    start = NOW + timedelta(hours=14)
    scheduled = client.post("/api/v1/rules/activate", headers=mei, json={
        "files": thank_you(), "reason": "from 00:00 China", "at": start.isoformat()})
    assert scheduled.status_code == 201, scheduled.json
    assert scheduled.json["status"] == "scheduled"
    assert ctx.rules.at(start - timedelta(microseconds=1)).version == "1"
    assert ctx.rules.at(start).version == "2"
    versions = {v["version"]: v["status"] for v in
                client.get("/api/v1/rules/versions", headers=mei).json["versions"]}
    assert versions == {1: "in force", 2: "scheduled"}
    listed = client.get("/api/v1/rules/schedule", headers=mei).json["scheduled"]
    assert [v["version"] for v in listed] == [2]
    now_too = client.post("/api/v1/rules/activate", headers=mei, json={
        "files": {**read_rule_dir(RULES_DIR), "extra.yaml": "ruleset: extra\non: [purchase]\n"
                  "rules:\n  - id: x\n    description: one point\n    then:\n"
                  "      - award_points: {points: 1}\n"},
        "reason": "a fix now"})
    assert now_too.status_code == 201, now_too.json
    assert now_too.json["warnings"] == [
        f"version 2 is scheduled for {start.isoformat()} and will replace these rules then"]
    cancelled = client.post("/api/v1/rules/versions/2/cancel", headers=mei,
                            json={"reason": "the campaign moved"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert ctx.rules.at(start + timedelta(days=1)).version == "3"
    twice = client.post("/api/v1/rules/versions/3/cancel", headers=mei, json={"reason": "x"})
    assert twice.status_code == 409 and "in force" in twice.json["message"]


def test_a_dry_run_dated_in_a_scheduled_campaign_previews_that_campaign(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    mei, till = people("Mei", "marketing"), people("till-1", "pos")
    member = client.post("/api/v1/members", json={"name": "Ann"}, headers=till).json
    start = NOW + timedelta(days=1)
    client.post("/api/v1/rules/activate", headers=mei, json={
        "files": thank_you(), "reason": "tomorrow", "at": start.isoformat()})
    body = {"transaction_id": "T-1", "type": "purchase", "member_id": member["member_id"],
            "lines": [{"sku": "MUG", "category": "accessories", "quantity": 1,
                       "unit_price": "10.00"}]}
    today = client.post("/api/v1/transactions?dry_run=true", headers=till,
                        json={**body, "occurred_at": NOW.isoformat()}).json
    tomorrow = client.post("/api/v1/transactions?dry_run=true", headers=till,
                           json={**body, "occurred_at": (start + timedelta(hours=1)).isoformat()}
                           ).json
    assert (today["points"]["earned"], tomorrow["points"]["earned"]) == (10, 60)


def test_rollback_restores_the_exact_content_and_says_so(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    mei = people("Mei", "marketing")
    ctx.clock = utcnow  # the command line runs on the wall clock too
    ctx.book()
    client.post("/api/v1/rules/activate", headers=mei,
                json={"files": thank_you(), "reason": "thank-you"})
    result = cli(ctx, "rules", "rollback", "1", "--reason", "too generous")
    assert result.exit_code == 0, result.output
    assert "rolled back: version 3 restores version 1" in result.output
    assert "rule thank-you (earning.yaml) removed" in result.output
    versions = {v["version"]: v for v in
                client.get("/api/v1/rules/versions", headers=mei).json["versions"]}
    assert versions[3]["content_hash"] == versions[1]["content_hash"]
    assert (versions[3]["restores"], versions[3]["status"]) == (1, "in force")
    assert versions[2]["status"] == "superseded"
    assert ctx.book().version == "3"
    again = client.post("/api/v1/rules/rollback", headers=mei,
                        json={"version": 1, "reason": "again"})
    assert again.status_code == 201 and again.json["changed"] is False
    no_reason = client.post("/api/v1/rules/rollback", headers=mei, json={"version": 2})
    assert no_reason.status_code == 422
    listing = cli(ctx, "rules", "versions")
    assert versions[1]["content_hash"] in listing.output and "restores 1" in listing.output


def test_the_diff_speaks_rule_by_rule(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    ctx.book()
    mei = people("Mei", "marketing")
    files = thank_you()
    files["gifts.yaml"] = files["gifts.yaml"].replace("times: 2", "times: 3", 1)
    client.post("/api/v1/rules/activate", headers=mei, json={"files": files, "reason": "x"})
    diff = client.get("/api/v1/rules/diff?from=1&to=2", headers=mei).json
    assert diff["lines"] == [
        "rule thank-you (earning.yaml) added: 50 points to thank you for every purchase",
        "rule fridge-ice-maker (gifts.yaml) changed: limit.times: 2 -> 3"]
    text_form = cli(ctx, "rules", "diff", "2", "1")
    assert "rule thank-you (earning.yaml) removed" in text_form.output
    unknown = client.get("/api/v1/rules/diff?from=1&to=9", headers=mei)
    assert unknown.status_code == 404


def test_the_audit_log_is_append_only_filtered_and_paged(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    admin = people("ops", "admin")
    key = create_key(ctx, "pos", "till-9")[1]
    assert revoke_key(ctx, key["key_id"])
    for n in range(3):
        activate(ctx, {**read_rule_dir(RULES_DIR), "x.yaml": f"ruleset: x{n}\non: [purchase]\n"
                       "rules: []\n"}, "Mei", reason=f"change {n}")
    first = client.get("/api/v1/audit?action=rules.activated&limit=2", headers=admin).json
    assert [e["reason"] for e in first["entries"]] == ["change 2", "change 1"]
    rest = client.get(f"/api/v1/audit?action=rules.activated&limit=2&cursor="
                      f"{first['next_cursor']}", headers=admin).json
    assert [e["reason"] for e in rest["entries"]] == ["change 0"]
    assert rest["next_cursor"] is None
    keys = client.get("/api/v1/audit?action=key.created&action=key.revoked",
                      headers=admin).json["entries"]
    assert [(e["action"], e["subject"]) for e in keys][:2] == [
        ("key.revoked", key["key_id"]), ("key.created", key["key_id"])]
    assert keys[0]["actor_kind"] == "cli" and "@" in keys[0]["actor"]
    printed = cli(ctx, "audit", "--action", "rules.activated", "--limit", "1")
    assert "rules.activated" in printed.output and "change 2" in printed.output
    assert "more: --cursor" in printed.output
    with ctx.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with ctx.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("DELETE FROM audit_log"))


def test_a_sweep_run_is_in_the_audit_log(
    ctx: ServiceContext, client: FlaskClient, people: Callable[[str, str], dict[str, str]]
) -> None:
    admin = people("ops", "admin")
    response = client.post("/api/v1/sweeps", headers=admin,
                           json={"as_of": NOW.isoformat()})
    assert response.status_code == 201, response.json
    entries = client.get("/api/v1/audit?action=sweep.run", headers=admin).json["entries"]
    assert [(e["actor"], e["subject"]) for e in entries] == [
        ("ops", f"as of {response.json['as_of']}")]
    marketing = client.get("/api/v1/audit?action=sweep.run",
                           headers=people("Mei", "marketing")).json["entries"]
    assert marketing == []
