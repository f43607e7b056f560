"""Steps about rule files that would harm the tills: refused with their reason and place."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from pytest_bdd import given, parsers, then, when

from loyalty import create_app
from loyalty.engine import read_rule_dir
from loyalty.services.rehearsal import FAULT_VARIABLE
from tests.conftest import RULES_DIR
from tests.steps.programme_steps import World


def _activate(world: World, files: dict[str, str] | None,
              auth: Callable[[str], dict[str, str]], role: str = "marketing") -> None:
    body = {"reason": "spec"} if files is None else {"files": files, "reason": "spec"}
    world.post_as("/api/v1/rules/activate", body, auth(role))


@given("a change to the rules that passes every check but would make purchases fail",
       target_fixture="change")
def failing_change(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # The test-only fault hook: the rehearsal's purchase fails as broken code would.
    monkeypatch.setenv(FAULT_VARIABLE, "a purchase")
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].replace("per_currency_unit: 1}",
                                                          "per_currency_unit: 2}", 1)
    return files


@when("marketing activates that change")
def activate_change(world: World, change: dict[str, str], auth: Callable[[str], dict[str, str]],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    _activate(world, change, auth)
    monkeypatch.delenv(FAULT_VARIABLE)


@when(parsers.parse("marketing activates the rules with a file of {size:d} KB added"))
def activate_large(world: World, size: int, auth: Callable[[str], dict[str, str]]) -> None:
    filler = "# a comment line of marketing's notes, repeated to make the file large\n"
    files = {**read_rule_dir(RULES_DIR), "notes.yaml": filler * (size * 1024 // len(filler))}
    _activate(world, files, auth)


@given("the rule folder holds a link to a file outside it", target_fixture="linked_folder")
def linked_folder(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("ruleset: elsewhere\non: [purchase]\nrules:\n  - id: all-points\n"
                       "    description: d\n    then:\n      - award_points: {points: 9999}\n")
    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder)
    (folder / "bonus.yaml").symlink_to(outside)
    return folder


@when("an administrator activates the rule folder")
def activate_folder(world: World, linked_folder: Path, app_config: dict[str, object],
                    auth: Callable[[str], dict[str, str]]) -> None:
    served: Flask = create_app({**app_config, "rules_dir": str(linked_folder)})
    world.last = served.test_client().post("/api/v1/rules/activate", headers=auth("admin"),
                                           json={"reason": "spec"})
    world.last_body = world.last.get_json()
    served.extensions["loyalty"].engine.dispose()


@then(parsers.parse('the activation is refused with the reason "{reason}"'))
def refused_with(world: World, reason: str) -> None:
    assert world.last.status_code == 422, world.last_body
    problems = world.last_body["details"]["problems"]
    assert any(reason in problem for problem in problems), problems


@when(parsers.parse('marketing uploads a draft whose file "{name}" has a letter in another '
                    'encoding on line {line:d}'))
def upload_latin1(world: World, name: str, line: int,
                  auth: Callable[[str], dict[str, str]]) -> None:
    text = "ruleset: cafe\non: [purchase]\n" + "\n" * (line - 3) + "# caf\u00e9 promotion\n"
    parts = [(io.BytesIO(text.encode("latin-1")), name)]
    world.last = world.client.post("/api/v1/rules/drafts", headers=auth("marketing"),
                                   data={"files": parts}, content_type="multipart/form-data")
    world.last_body = world.last.get_json()


@then(parsers.parse('the upload is refused, naming "{name}" and line {line:d}'))
def upload_refused(world: World, name: str, line: int) -> None:
    assert world.last.status_code == 422, world.last_body
    assert world.last_body["details"]["problems"][0].startswith(f"{name}:{line}: not UTF-8")


@then("no draft is kept")
def no_draft(world: World) -> None:
    with world.ctx.uow(read_only=True) as uow:
        assert list(uow.workflow.drafts(None)) == []


@then("no purchase waited for the new rules to be made ready")
def no_request_compiled(world: World) -> None:
    assert world.ctx.rules.builds["request"] == 0, world.ctx.rules.builds
