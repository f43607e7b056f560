"""Hostile rule files, tried through the command line and the API: a link out of the folder,
an oversized file (50 MB), too many rules, deep nesting, bytes that are not UTF-8, text that
cannot be stored, and a set that passes the check but fails its rehearsal. Each is refused with
a problem naming its file (and line, where there is one); nothing is activated or stored, and
the rules in force stay in force."""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from loyalty import create_app
from loyalty.cli import main
from loyalty.engine import read_rule_dir
from loyalty.engine.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_RULES
from loyalty.services import rules
from loyalty.services.context import ServiceContext
from loyalty.services.keys import create_key
from loyalty.services.rehearsal import FAULT_VARIABLE
from tests.conftest import RULES_DIR, Reliability

Files = dict[str, str]


class Tries:
    """Each hostile set tried, and whether any attempt left a new version, or a draft without
    problems, behind (a draft with problems is kept, to be fixed: it cannot be activated)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.tried = 0
        self.versions = self._versions()

    def _versions(self) -> list[int]:
        return [v["version"] for v in rules.list_versions(self.ctx)]

    def drafts(self) -> list[Any]:
        with self.ctx.uow(read_only=True) as uow:
            return list(uow.workflow.drafts(None))

    def _clean_drafts(self) -> int:
        return sum(not draft.problems for draft in self.drafts())

    def refused(self) -> None:
        """One more attempt, refused: the rules in force are as they were."""
        self.tried += 1
        assert self._versions() == self.versions
        assert self._clean_drafts() == 0
        assert self.ctx.book().version == str(self.versions[0])

    def record(self, reliability: Reliability) -> None:
        lost = len(self._versions()) - len(self.versions) + self._clean_drafts()
        reliability.record(inputs=self.tried, lost=lost)


@pytest.fixture
def tries(ctx: ServiceContext) -> Tries:
    rules.activate(ctx, read_rule_dir(RULES_DIR), "test", reason="the rules in force")
    return Tries(ctx)


@pytest.fixture
def cli(database_url: str) -> Callable[..., Result]:
    env = {"LOYALTY_DATABASE_URL": database_url, "LOYALTY_RULES_DIR": str(RULES_DIR)}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


@pytest.fixture
def marketing(ctx: ServiceContext) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(ctx, 'marketing', 'Mei')[0]}"}


def folder(tmp_path: Path, name: str = "rules", **extra: str | bytes) -> Path:
    """A copy of the bundled rules with extra files (text or bytes)."""
    target = tmp_path / name
    shutil.copytree(RULES_DIR, target)
    for file, content in extra.items():
        path = target / file.replace("__", ".")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return target


def by_cli(cli: Callable[..., Result], directory: Path) -> list[str]:
    """`rules check`, `rules activate` and `rules draft` of a folder: each refused (exit
    status 1); the problem lines `rules check` printed."""
    checked = cli("rules", "check", str(directory))
    assert checked.exit_code == 1, checked.output
    assert "the rules were not activated" in checked.output
    activated = cli("rules", "activate", str(directory), "--reason", "hostile")
    assert activated.exit_code == 1, activated.output
    drafted = cli("rules", "draft", str(directory))
    assert drafted.exit_code == 1, drafted.output
    return checked.output.splitlines()[:-1]


def by_api(client: FlaskClient, headers: dict[str, str], files: Files, *,
           backtest: bool = True) -> list[str]:
    """`/rules/check`, `/rules/activate` and (with `backtest`) a backtest of `files`: the check
    answers the problems, the others refuse with them. The problems the check answered."""
    checked = client.post("/api/v1/rules/check", json={"files": files}, headers=headers)
    assert checked.status_code == 200, checked.get_json()
    assert checked.get_json()["valid"] is False
    problems: list[str] = checked.get_json()["problems"]
    activated = client.post("/api/v1/rules/activate", headers=headers,
                            json={"files": files, "reason": "hostile"})
    assert activated.status_code == 422, activated.get_json()
    assert activated.get_json()["details"]["problems"] == problems
    if backtest:
        replayed = client.post("/api/v1/rules/backtests", headers=headers, json={
            "files": files, "from": "2026-11-01T00:00:00Z", "to": "2026-11-30T00:00:00Z"})
        assert replayed.status_code == 422, replayed.get_json()
        assert replayed.get_json()["details"]["problems"] == problems
    return problems


def draft_refused_or_kept_with(client: FlaskClient, headers: dict[str, str], files: Files,
                               tries: Tries) -> list[str]:
    """A draft of `files`: refused outright when it cannot be stored (nothing is stored), else
    kept with its problems and not activated; the problems either way."""
    before = len(tries.drafts())
    response = client.post("/api/v1/rules/drafts", json={"files": files}, headers=headers)
    body = response.get_json()
    if response.status_code == 422:
        assert len(tries.drafts()) == before
        return list(body["details"]["problems"])
    assert response.status_code == 201, body
    assert body["valid"] is False
    activated = client.post(f"/api/v1/rules/drafts/{body['draft_id']}/activate", headers=headers,
                            json={"reason": "hostile"})
    assert activated.status_code == 409, activated.get_json()
    return list(body["problems"])


def test_a_link_out_of_the_folder_is_refused_and_a_link_inside_it_is_read(
    tmp_path: Path, cli: Callable[..., Result], ctx: ServiceContext, tries: Tries,
    app_config: dict[str, Any], marketing: dict[str, str], reliability: Reliability
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "bonus.yaml").write_text(
        "ruleset: bonus\non: [purchase]\nrules:\n  - id: bonus\n    description: d\n"
        "    then:\n      - award_points: {points: 10000000}\n")
    hostile = folder(tmp_path)
    (hostile / "bonus.yaml").symlink_to(outside / "bonus.yaml")
    problems = by_cli(cli, hostile)
    assert problems == [f"bonus.yaml: a link out of the rule folder (to {outside / 'bonus.yaml'}"
                        "): only files inside the folder are read"]
    tries.refused()
    served = create_app({**app_config, "rules_dir": str(hostile)})  # activate without files
    answer = served.test_client().post("/api/v1/rules/activate", headers=marketing,
                                       json={"reason": "the server's folder"})
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["details"]["problems"] == problems
    served.extensions["loyalty"].engine.dispose()
    tries.refused()

    inside = folder(tmp_path, "linked")
    (inside / "kept").mkdir()
    (inside / "earning.yaml").rename(inside / "kept" / "earning.yaml")
    (inside / "earning.yaml").symlink_to(Path("kept") / "earning.yaml")
    assert read_rule_dir(inside) == read_rule_dir(RULES_DIR)
    tries.record(reliability)


def test_an_oversized_file_is_refused_quickly_whatever_its_size(
    tmp_path: Path, cli: Callable[..., Result], client: FlaskClient, tries: Tries,
    marketing: dict[str, str], reliability: Reliability
) -> None:
    huge = folder(tmp_path)
    with (huge / "huge.yaml").open("wb") as out:  # 50 MB, as the service once accepted
        out.truncate(50 * 1024 * 1024)
    started = time.monotonic()
    assert by_cli(cli, huge) == [
        "huge.yaml: file too large: 50.0 MiB, a rule file holds at most 256 KiB"]
    assert time.monotonic() - started < 30  # three commands; the file is never read whole
    tries.refused()

    comments = "# a long comment line, repeated until the file is too large\n"
    big = comments * (MAX_FILE_BYTES // len(comments) + 1)
    files = {**read_rule_dir(RULES_DIR), "big.yaml": big}
    expected = [f"big.yaml: file too large: {len(big) // 1024} KiB, a rule file holds at most "
                "256 KiB"]
    assert by_api(client, marketing, files) == expected
    assert draft_refused_or_kept_with(client, marketing, files, tries) == expected
    tries.refused()
    tries.record(reliability)


def many_rules(name: str, event: str, count: int, first: int = 0) -> str:
    lines = [f"ruleset: {name}", f"on: [{event}]", "rules:"]
    for n in range(first, first + count):
        lines += [f"  - id: r{n}", "    description: one point",
                  "    then: [award_points: {points: 1}]"]
    return "\n".join(lines) + "\n"


def test_too_many_rules_are_refused_at_the_first_rule_past_the_limit(
    tmp_path: Path, cli: Callable[..., Result], client: FlaskClient, tries: Tries,
    marketing: dict[str, str], reliability: Reliability
) -> None:
    events = ("purchase", "enrolment", "birthday", "complaint", "service", "survey")
    per_file = MAX_RULES // len(events) + 1
    extra = {f"many_{n}.yaml": many_rules(f"many-{n}", event, per_file, n * per_file)
             for n, event in enumerate(events)}
    files = {**read_rule_dir(RULES_DIR), **extra}
    problems = by_api(client, marketing, files)
    counts = {name: len(re.findall(r"^  - id:", text, re.MULTILINE))
              for name, text in files.items() if name != "rewards.yaml"}
    past = MAX_RULES - sum(n for name, n in counts.items() if name < "many_0.yaml")
    file_index, position = divmod(past, per_file)  # files are read in name order
    assert problems == [
        f"many_{file_index}.yaml:{4 + 3 * position}: rule 'r{past}': too many rules: the set "
        f"has {sum(counts.values()):,}, at most {MAX_RULES:,} (files are read in name order; "
        "this is the first one past the limit)"]
    tries.refused()
    hostile = folder(tmp_path, **{name.replace(".", "__"): text for name, text in extra.items()})
    assert by_cli(cli, hostile) == problems
    tries.refused()
    tries.record(reliability)


def test_nesting_deeper_than_the_limit_is_a_problem_on_its_line(
    tmp_path: Path, cli: Callable[..., Result], client: FlaskClient, tries: Tries,
    marketing: dict[str, str], reliability: Reliability
) -> None:
    deep = ("ruleset: deep\non: [purchase]\nrules:\n  - id: deep\n    description: d\n"
            "    when:\n      - " + "{any: [" * 200 + "{fact: event.total, above: 1}"
            + "]}" * 200 + "\n    then:\n      - award_points: {points: 1}\n")
    files = {**read_rule_dir(RULES_DIR), "deep.yaml": deep}
    problems = by_api(client, marketing, files)
    assert problems == [f"deep.yaml:7: nested too deeply: at most {MAX_DEPTH} levels of "
                        "mappings and lists (move conditions out of groups, or test one fact "
                        "against a list with 'in')"]
    assert draft_refused_or_kept_with(client, marketing, files, tries) == problems
    tries.refused()
    assert by_cli(cli, folder(tmp_path, deep__yaml=deep)) == problems
    tries.refused()
    tries.record(reliability)


def test_bytes_that_are_not_utf8_and_unstorable_text_are_problems_on_their_line(
    tmp_path: Path, cli: Callable[..., Result], client: FlaskClient, tries: Tries,
    marketing: dict[str, str], reliability: Reliability
) -> None:
    latin1 = "ruleset: caf\u00e9\non: [purchase]\n# caf\u00e9 cr\u00e8me\n".encode("latin-1")
    assert by_cli(cli, folder(tmp_path, cafe__yaml=latin1)) == [
        "cafe.yaml:1: not UTF-8 text: byte 0xe9 at column 13; save the file as UTF-8"]
    tries.refused()
    upload = client.post("/api/v1/rules/drafts", headers=marketing,
                         data={"files": [(io.BytesIO((RULES_DIR / "program.yaml").read_bytes()),
                                          "program.yaml"), (io.BytesIO(latin1), "cafe.yaml")]},
                         content_type="multipart/form-data")
    assert upload.status_code == 422, upload.get_json()
    assert upload.get_json()["details"]["problems"] == [
        "cafe.yaml:1: not UTF-8 text: byte 0xe9 at column 13; save the file as UTF-8"]
    tries.refused()
    for text, problem in (
        ("ruleset: x\n# half a pair \ud83d\n", "x.yaml:2: not UTF-8 text: a lone surrogate 0xd83d"),
        ("ruleset: x\non: [purchase]\n\x00\n", "x.yaml:3: a NUL character: rule files are plain "
                                              "text"),
    ):
        files = {**read_rule_dir(RULES_DIR), "x.yaml": text}
        assert by_api(client, marketing, files) == [problem]
        assert draft_refused_or_kept_with(client, marketing, files, tries) == [problem]
        tries.refused()
    tries.record(reliability)


@pytest.fixture
def failing_rehearsal(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test-only fault hook: the rehearsal's purchase fails as broken code would."""
    monkeypatch.setenv(FAULT_VARIABLE, "a purchase")
    yield "program.yaml: rehearsing these rules, a purchase failed (RuntimeError: fault " \
          f"injected by {FAULT_VARIABLE}): the till or the sweep would fail the same way"


def test_a_set_that_passes_the_check_but_fails_its_rehearsal_is_never_activated(
    tmp_path: Path, cli: Callable[..., Result], client: FlaskClient, tries: Tries,
    marketing: dict[str, str], failing_rehearsal: str, reliability: Reliability
) -> None:
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].replace("per_currency_unit: 1}",
                                                          "per_currency_unit: 2}", 1)
    assert by_api(client, marketing, files, backtest=False) == [failing_rehearsal]
    assert draft_refused_or_kept_with(client, marketing, files, tries) == [failing_rehearsal]
    tries.refused()
    assert by_cli(cli, folder(tmp_path, earning__yaml=files["earning.yaml"])) == [
        failing_rehearsal]
    tries.refused()
    tries.record(reliability)


def test_a_rehearsal_whose_process_crashes_refuses_the_set_and_the_service_carries_on(
    client: FlaskClient, tries: Tries, marketing: dict[str, str],
    monkeypatch: pytest.MonkeyPatch, reliability: Reliability
) -> None:
    monkeypatch.setenv(FAULT_VARIABLE, "a return:crash")
    files = read_rule_dir(RULES_DIR)
    files["earning.yaml"] = files["earning.yaml"].replace("per_currency_unit: 1}",
                                                          "per_currency_unit: 3}", 1)
    (problem,) = by_api(client, marketing, files, backtest=False)
    assert problem.startswith("program.yaml: rehearsing these rules, the process failed at a "
                              "return (the child process ended (killed by signal 9))")
    tries.refused()
    assert os.environ[FAULT_VARIABLE] == "a return:crash"  # this process was never touched
    tries.record(reliability)
