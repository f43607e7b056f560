"""Steps about administrators activating rule versions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pytest_bdd import parsers, then, when

from loyalty.engine import read_rule_dir
from tests.conftest import RULES_DIR
from tests.integration.helpers import THANK_YOU
from tests.steps.programme_steps import World


def activate(world: World, files: dict[str, str], admin: dict[str, str]) -> Any:
    return world.post_as("/api/v1/rules/activate", {"files": files, "reason": "spec"}, admin)


@when(parsers.parse('an administrator activates a copy of the rules where "{right}" is misspelt '
                    '"{wrong}"'))
def activate_misspelt(world: World, right: str, wrong: str,
                      auth: Callable[[str], dict[str, str]]) -> None:
    files = read_rule_dir(RULES_DIR)
    assert right in files["earning.yaml"]
    files["earning.yaml"] = files["earning.yaml"].replace(right, wrong, 1)
    world.mistake_line = next(  # type: ignore[attr-defined]
        n for n, line in enumerate(files["earning.yaml"].splitlines(), 1) if wrong in line)
    activate(world, files, auth("admin"))


@when("an administrator activates the rules with a 50-point thank-you on every purchase")
def activate_thank_you(world: World, auth: Callable[[str], dict[str, str]]) -> None:
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].rstrip() + "\n" + THANK_YOU
    response = activate(world, files, auth("admin"))
    assert response.status_code == 201, world.last_body


@then(parsers.parse('the activation is refused, naming "{file}" and the line of the mistake'))
def refused(world: World, file: str) -> None:
    assert world.last.status_code == 422
    assert world.last_body["code"] == "rules_invalid"
    problems = world.last_body["details"]["problems"]
    line = world.mistake_line  # type: ignore[attr-defined]
    assert len(problems) == 1 and re.match(rf"{re.escape(file)}:{line}:", problems[0]), problems


@then(parsers.re(r"the rules in force are (still )?version (?P<version>\d+)"),
      converters={"version": int})
def version_in_force(world: World, version: int, auth: Callable[[str], dict[str, str]]) -> None:
    versions = world.client.get("/api/v1/rules/versions",
                                headers=auth("marketing")).get_json()["versions"]
    active = [v["version"] for v in versions if v["active"]]
    assert active == [version], versions


@then(parsers.parse("the receipt names rules version {version}"))
def receipt_version(world: World, version: str) -> None:
    versions = {d["ruleset_version"] for d in world.last_body["decisions"]}
    assert versions == {version}, world.last_body["decisions"]
