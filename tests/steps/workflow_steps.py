"""Steps about drafts, approval, scheduled activation, rollback and the audit log, spoken
through the API by named people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pytest_bdd import given, parsers, then, when

from loyalty.engine import read_rule_dir
from loyalty.services.keys import create_key
from loyalty.services.rules import activate
from tests.conftest import RULES_DIR
from tests.steps.programme_steps import CHINA, World

WEEKEND = """\
ruleset: weekend
description: Double points on appliances this weekend
on: [purchase]
rules:
  - id: weekend-appliances
    description: 1 extra point per 1 CNY on appliances this weekend
    priority: 30
    when:
      - {fact: member.tier, is: TIER}
    then:
      - award_points:
          per_currency_unit: 1
          on_lines: {fact: line.category, in: [appliances]}
"""
EVERY_TIER = "[member, silver, gold, platinum]"
FRIDAY = datetime(2026, 11, 20, tzinfo=CHINA)
SATURDAY = datetime(2026, 11, 21, tzinfo=CHINA)


def weekend(tier: str = EVERY_TIER) -> dict[str, str]:
    text = WEEKEND.replace("is: TIER", f"in: {tier}" if tier.startswith("[") else f"is: {tier}")
    return {**read_rule_dir(RULES_DIR), "weekend.yaml": text}


class People:
    """Named API keys: a key's name is the person the audit log and approvals know."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.keys: dict[str, dict[str, str]] = {}
        self.draft_id = ""
        self.scheduled: dict[str, Any] = {}

    def add(self, name: str, role: str) -> None:
        token = create_key(self.world.ctx, role, name)[0]
        self.keys[name] = {"Authorization": f"Bearer {token}"}

    def post(self, name: str, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.world.post_as(url, body or {}, self.keys[name])

    def get(self, name: str, url: str) -> Any:
        response = self.world.client.get(url, headers=self.keys[name])
        self.world.last = response
        self.world.last_body = response.get_json()
        return response


def people(world: World) -> People:
    found: People = world.people  # type: ignore[attr-defined]
    return found


@given("the standard programme rules are in force, with approval required",
       target_fixture="world")
def rules_with_approval(client: Any, ctx: Any, auth: Callable[[str], dict[str, str]]) -> World:
    world = World(client=client, ctx=ctx, headers=auth("pos"))
    ctx.clock = lambda: world.now
    files = read_rule_dir(RULES_DIR)
    files["program.yaml"] = files["program.yaml"].replace(
        "approval: not_required", "approval: required")
    assert "approval: required" in files["program.yaml"]
    first = activate(ctx, files, "setup", reason="the programme, reviewed by two people")
    assert first["version"] == 1
    world.people = People(world)  # type: ignore[attr-defined]
    world.people.add("admin", "admin")  # type: ignore[attr-defined]
    return world


@given("Mei works in marketing, Li and Wang are marketing leads")
def staff(world: World) -> None:
    people(world).add("Mei", "marketing")
    people(world).add("Li", "marketing_lead")
    people(world).add("Wang", "marketing_lead")


@given("it is Friday 18:00")
def friday_evening(world: World) -> None:
    world.now = FRIDAY.replace(hour=18)


@when(parsers.parse('{name} drafts "weekend double points on appliances" with the note '
                    '"{note}"'))
def draft_weekend(world: World, name: str, note: str) -> None:
    response = people(world).post(name, "/api/v1/rules/drafts",
                                  {"files": weekend(), "note": note})
    assert response.status_code == 201, world.last_body
    people(world).draft_id = world.last_body["draft_id"]
    assert world.last_body["author"] == name and world.last_body["note"] == note


@when(parsers.parse('{name} drafts a weekend campaign that names the tier "{tier}"'))
def draft_mistake(world: World, name: str, tier: str) -> None:
    response = people(world).post(name, "/api/v1/rules/drafts",
                                  {"files": weekend(tier), "note": "weekend"})
    assert response.status_code == 201, world.last_body
    people(world).draft_id = world.last_body["draft_id"]


@then("the draft has no problems")
def no_problems(world: World) -> None:
    assert world.last_body["valid"] is True and world.last_body["problems"] == []


@then("the draft lists the problem with its file, line and rule id")
def lists_problem(world: World) -> None:
    body = world.last_body
    assert body["valid"] is False and body["status"] == "draft"
    line = next(n for n, text in enumerate(weekend("glod")["weekend.yaml"].splitlines(), 1)
                if "glod" in text)
    assert len(body["problems"]) == 1, body["problems"]
    problem = body["problems"][0]
    assert problem.startswith(f"weekend.yaml:{line}: rule 'weekend-appliances':"), problem
    assert "glod" in problem and "gold" in problem


@then("submitting the draft is refused until the mistake is fixed")
def submit_refused(world: World) -> None:
    team = people(world)
    response = team.post("Mei", f"/api/v1/rules/drafts/{team.draft_id}/submit")
    assert response.status_code == 409, world.last_body
    assert world.last_body["code"] == "change_refused"
    assert "problem" in world.last_body["message"]


@when("Mei replaces the draft's files with the corrected campaign")
def replace_files(world: World) -> None:
    team = people(world)
    response = world.client.put(f"/api/v1/rules/drafts/{team.draft_id}",
                                json={"files": weekend("gold")}, headers=team.keys["Mei"])
    world.last, world.last_body = response, response.get_json()
    assert response.status_code == 200, world.last_body


@when(parsers.parse("{name} submits the draft"))
@then(parsers.parse("{name} submits the draft"))
def submit(world: World, name: str) -> None:
    team = people(world)
    response = team.post(name, f"/api/v1/rules/drafts/{team.draft_id}/submit")
    assert response.status_code == 200, world.last_body
    assert world.last_body["status"] == "submitted"


@when(parsers.parse("{name} approves the draft"))
@then(parsers.parse("{name} approves the draft"))
def approve(world: World, name: str) -> None:
    team = people(world)
    team.post(name, f"/api/v1/rules/drafts/{team.draft_id}/approve")


@then(parsers.parse("the approval is refused because {name} wrote the change"))
def approval_refused(world: World, name: str) -> None:
    assert world.last.status_code == 403, world.last_body
    assert world.last_body["code"] == "own_change"
    assert "nobody approves their own change" in world.last_body["message"]
    assert name in world.last_body["message"]


@then("the draft is still waiting for approval")
def still_submitted(world: World) -> None:
    team = people(world)
    body = team.get("Mei", f"/api/v1/rules/drafts/{team.draft_id}").get_json()
    assert body["status"] == "submitted" and body["decided_by"] is None


@then(parsers.parse("the audit shows the refusal by {name} with its reason"))
def refusal_in_audit(world: World, name: str) -> None:
    team = people(world)
    entries = team.get("admin", "/api/v1/audit?action=rules.refused").get_json()["entries"]
    assert [(e["actor"], e["subject"], e["details"]["code"]) for e in entries] == [
        (name, f"draft {team.draft_id}", "own_change")]
    assert "nobody approves their own change" in entries[0]["reason"]


@when(parsers.parse('{name} activates the draft now with the reason "{reason}"'))
def activate_now(world: World, name: str, reason: str) -> None:
    team = people(world)
    team.post(name, f"/api/v1/rules/drafts/{team.draft_id}/activate", {"reason": reason})


@then("the activation is refused because it has not been approved")
def not_approved(world: World) -> None:
    assert world.last.status_code == 409, world.last_body
    assert world.last_body["code"] == "approval_required"


@when(parsers.parse('{name} schedules the draft for Saturday 00:00 with the reason "{reason}"'))
@then(parsers.parse('{name} schedules the draft for Saturday 00:00 with the reason "{reason}"'))
def schedule(world: World, name: str, reason: str) -> None:
    team = people(world)
    response = team.post(name, f"/api/v1/rules/drafts/{team.draft_id}/activate",
                         {"reason": reason, "at": SATURDAY.isoformat()})
    assert response.status_code == 201, world.last_body
    assert world.last_body["status"] == "scheduled"
    team.scheduled = world.last_body


@then("the schedule shows the new version taking over on Saturday 00:00")
def schedule_listed(world: World) -> None:
    team = people(world)
    listed = team.get("Mei", "/api/v1/rules/schedule").get_json()["scheduled"]
    assert [(v["version"], datetime.fromisoformat(v["takes_over"])) for v in listed] == [
        (team.scheduled["version"], SATURDAY)]


@when("it is Friday 23:59:59")
def just_before_midnight(world: World) -> None:
    world.now = FRIDAY.replace(hour=23, minute=59, second=59)


@when("it is Saturday 00:00:00")
def midnight(world: World) -> None:
    world.now = SATURDAY


@then("the receipt names the scheduled version")
def receipt_names_scheduled(world: World) -> None:
    versions = {d["ruleset_version"] for d in world.last_body["decisions"]}
    assert versions == {str(people(world).scheduled["version"])}, world.last_body


@given(parsers.parse("Mei's weekend campaign was approved by Li and is in force as version 2"))
def campaign_in_force(world: World) -> None:
    staff(world)
    draft_weekend(world, "Mei", "Double points this weekend")
    submit(world, "Mei")
    approve(world, "Li")
    assert world.last.status_code == 200, world.last_body
    activate_now(world, "Mei", "weekend campaign")
    assert world.last.status_code == 201, world.last_body
    assert world.last_body["version"] == 2


@when(parsers.parse('{name} rolls back to version {version:d} with the reason "{reason}"'))
def roll_back(world: World, name: str, version: int, reason: str) -> None:
    response = people(world).post(name, "/api/v1/rules/rollback",
                                  {"version": version, "reason": reason})
    assert response.status_code == 201, world.last_body


@then(parsers.parse("version {newer:d} has the same content hash as version {older:d}"))
def same_hash(world: World, newer: int, older: int) -> None:
    team = people(world)
    versions = {v["version"]: v for v in
                team.get("Mei", "/api/v1/rules/versions").get_json()["versions"]}
    assert versions[newer]["content_hash"] == versions[older]["content_hash"]
    assert versions[newer]["restores"] == older


@then("the change lists the weekend rule as removed")
def rule_removed(world: World) -> None:
    team = people(world)
    entry = team.get("Mei", "/api/v1/audit?action=rules.rolled_back").get_json()["entries"][0]
    assert entry["actor"] == "Li" and entry["reason"] == "the campaign cost too much"
    assert any("weekend-appliances" in line and "removed" in line
               for line in entry["details"]["diff"]), entry["details"]["diff"]


@when("an administrator reads the audit log")
def read_audit(world: World) -> None:
    people(world).get("admin", "/api/v1/audit")


@then("it lists, newest first, the activation by Mei with its reason and the rule it added")
def activation_listed(world: World) -> None:
    first = world.last_body["entries"][0]
    assert (first["action"], first["actor"], first["reason"], first["subject"]) == (
        "rules.activated", "Mei", "weekend campaign", "version 2")
    assert any("weekend-appliances" in line and "added" in line
               for line in first["details"]["diff"]), first["details"]["diff"]


@then("the approval by Li, the submission by Mei and the draft by Mei")
def earlier_steps(world: World) -> None:
    steps = [(e["action"], e["actor"]) for e in world.last_body["entries"]
             if e["action"].startswith("draft.")]
    assert steps[:4] == [("draft.approved", "Li"), ("draft.submitted", "Mei"),
                         ("draft.checked", "Mei"), ("draft.created", "Mei")], steps


@then("marketing sees the same rule events but not who created API keys")
def marketing_view(world: World) -> None:
    admin_sees = world.last_body["entries"]
    assert any(e["action"] == "key.created" for e in admin_sees)
    seen = people(world).get("Mei", "/api/v1/audit").get_json()["entries"]
    assert seen == [e for e in admin_sees if not e["action"].startswith("key.")]
