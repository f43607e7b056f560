"""What a rule folder and a rule set may hold: links, sizes, counts, nesting, text, the length
of names the database keeps, and what the engine can hold in one evaluation. Each is a problem
with its file and line; a version already stored is read without the limits added later."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, String

from loyalty.domain.model import EvaluationInput, Line, Member, MemberStats, Occurrence
from loyalty.engine import build_rulebook, check_rules, read_rule_dir
from loyalty.engine.host import MAX_FACT_PROPERTIES, Engine, EngineError
from loyalty.engine.limits import (
    CAMPAIGN_PREFIX,
    LONGEST,
    MAX_FILE_BYTES,
    MAX_FILES,
    screen_files,
)
from loyalty.engine.loader import read_rule_folder
from loyalty.store import tables
from tests.unit.engine.conftest import with_program

RULE = """ruleset: x
on: [purchase]
rules:
  - id: r
    description: d
    then:
      - {effect}
"""


def problems(files: dict[str, str]) -> list[str]:
    return [str(problem) for problem in check_rules(files)]


def test_a_link_out_of_the_folder_and_a_dangling_link_are_problems(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("ruleset: outside\n")
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "program.yaml").write_text("currency: CNY\n")
    (folder / "out.yaml").symlink_to(outside)
    (folder / "gone.yaml").symlink_to(folder / "missing.yaml")
    read = read_rule_folder(folder)
    assert read.files == {"program.yaml": "currency: CNY\n"}
    assert [str(p) for p in read.problems] == [
        "gone.yaml: a link to a file that does not exist",
        f"out.yaml: a link out of the rule folder (to {outside}): only files inside the folder "
        "are read"]


def test_a_link_inside_the_folder_is_read_and_a_linked_folder_is_followed(
    tmp_path: Path
) -> None:
    real = tmp_path / "release-7"
    real.mkdir()
    (real / "earning.yaml").write_text("ruleset: earning\n")
    (real / "alias.yaml").symlink_to("earning.yaml")
    current = tmp_path / "current"
    current.symlink_to(real)  # a deployment that points the rules folder at a release
    assert read_rule_dir(current) == {"alias.yaml": "ruleset: earning\n",
                                      "earning.yaml": "ruleset: earning\n"}


def test_fifos_hidden_files_and_folders_are_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")  # opening it to read would wait for a writer forever
    (folder / ".#earning.yaml").write_text("an editor's lock file\n")
    (folder / "sub.yaml").mkdir()
    read = read_rule_folder(folder)
    assert read.files == {}
    assert [str(p) for p in read.problems] == ["pipe.yaml: not a regular file"]


def test_bytes_that_are_not_utf8_are_a_problem_at_their_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_bytes(b"ruleset: x\non: [purchase]\n# caf\xe9\n")
    (problem,) = read_rule_folder(tmp_path).problems
    assert str(problem) == "x.yaml:3: not UTF-8 text: byte 0xe9 at column 6; save the file as UTF-8"


def test_a_file_past_the_size_limit_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    with (tmp_path / "big.yaml").open("wb") as out:
        out.truncate(3 * 1024 * 1024 * 1024)  # 3 GiB, sparse
    (problem,) = read_rule_folder(tmp_path).problems
    assert str(problem) == "big.yaml: file too large: 3072.0 MiB, a rule file holds at most 256 KiB"


def test_too_many_files_too_large_a_set_and_unstorable_text_are_problems() -> None:
    many = {f"f{n:03}.yaml": "" for n in range(MAX_FILES + 1)}
    assert [str(p) for p in screen_files(many)] == [
        f"(rule folder): {MAX_FILES + 1} files: a rule set holds at most {MAX_FILES}"]
    chunk = "#" * (MAX_FILE_BYTES - 1) + "\n"
    large = {f"f{n}.yaml": chunk for n in range(5)}
    assert [str(p) for p in screen_files(large)] == [
        "(rule folder): rule set too large: 1.2 MiB in all, at most 1.0 MiB"]
    assert [str(p) for p in screen_files({"a.yaml": "x: 1\ny: \ud800\n",
                                          "b.yaml": "x: 1\n\n\x00"})] == [
        "a.yaml:2: not UTF-8 text: a lone surrogate 0xd800",
        "b.yaml:3: a NUL character: rule files are plain text"]
    assert [str(p) for p in screen_files({"../x.yaml": "", "notes.txt": ""})] == [
        "(rule folder): '../x.yaml' is not a rule file name: a name ending in .yaml (at most "
        "100 characters, no folder)",
        "(rule folder): 'notes.txt' is not a rule file name: a name ending in .yaml (at most "
        "100 characters, no folder)"]


def test_the_size_of_a_file_counts_its_utf8_bytes() -> None:
    wide = "# " + "\u4e2d" * (MAX_FILE_BYTES // 3) + "\n"  # three bytes a character
    assert len(wide) < MAX_FILE_BYTES < len(wide.encode())
    assert [p.file for p in screen_files({"wide.yaml": wide})] == ["wide.yaml"]


def test_nesting_past_the_limit_is_a_problem_on_its_line_not_a_crash() -> None:
    text = "ruleset: x\non: [purchase]\nrules:\n  - id: r\n    when:\n      - " \
           + "[" * 100_000 + "]" * 100_000 + "\n"
    (problem,) = problems(with_program({"x.yaml": text}))
    assert str(problem).startswith("x.yaml:6: nested too deeply: at most 40 levels")


@pytest.mark.parametrize(("effect", "kind", "setting"), [
    ("grant_privilege: {privilege: NAME}", "privilege", "grant_privilege"),
    ("revoke_privilege: {privilege: NAME}", "privilege", "revoke_privilege"),
    ("notify: {notification: NAME}", "notification", "notify"),
    ("issue_offer: {offer: NAME, benefit: bonus_points, value: 5, valid_days: 3}", "offer",
     "issue_offer"),
])
def test_a_name_longer_than_the_database_keeps_is_a_problem_on_its_line(
    effect: str, kind: str, setting: str
) -> None:
    name = "N" * (LONGEST[kind] + 1)
    (problem,) = problems(with_program({"x.yaml": RULE.format(effect=effect.replace(
        "NAME", name))}))
    assert str(problem) == (f"x.yaml:7: rule 'r': {setting}: the {kind} name 'NNNNNNNNNNNNNNNNNN"
                            f"NN...' is {len(name)} characters long, at most {LONGEST[kind]}")
    exact = effect.replace("NAME", "N" * LONGEST[kind])
    assert problems(with_program({"x.yaml": RULE.format(effect=exact)})) == []


def test_programme_names_longer_than_the_database_keeps_are_problems_on_their_lines(
    pack: dict[str, str]
) -> None:
    long_tier, long_event, long_channel = "t" * 41, "e" * 41, "c" * 41
    pack["program.yaml"] = (pack["program.yaml"]
                            .replace("{tier: gold,", f"{{tier: {long_tier},")
                            .replace("  visit:", f"  {long_event}:")
                            .replace("[store, web, app, phone, desk]",
                                     f"[store, web, app, phone, {long_channel}]"))
    pack["rewards.yaml"] = pack["rewards.yaml"].replace("id: ICE-MAKER", f"id: {'R' * 65}")
    found = {problem.message.split(" name ")[0]: problem for problem in check_rules(pack)
             if "characters long" in problem.message}
    for kind, file, name in (("the tier", "program.yaml", long_tier),
                             ("the event", "program.yaml", long_event),
                             ("channels: the channel", "program.yaml", long_channel),
                             ("the reward", "rewards.yaml", "R" * 65)):
        problem = found.pop(kind)
        assert problem.file == file and problem.line is not None
        assert name in pack[file].splitlines()[problem.line - 1]
    assert found == {}


def test_a_campaign_name_leaves_room_for_its_budget_key() -> None:
    text = RULE.format(effect="award_points: {points: 1}").replace(
        "    then:", "    campaign: CAMPAIGN\n    then:")
    at_most = "c" * LONGEST["campaign"]
    assert problems(with_program({"x.yaml": text.replace("CAMPAIGN", at_most)})) == []
    (problem,) = problems(with_program({"x.yaml": text.replace("CAMPAIGN", at_most + "c")}))
    assert problem.startswith("x.yaml:6: rule 'r': the campaign name ")


def test_the_name_limits_are_the_lengths_the_database_keeps() -> None:
    columns = {"reward": tables.member_rewards.c.reward_id, "offer": tables.offers.c.offer_code,
               "privilege": tables.privileges.c.privilege,
               "notification": tables.notifications.c.notification,
               "tier": tables.members.c.tier, "event": tables.events.c.type,
               "channel": tables.transactions.c.channel, "store": tables.transactions.c.store_id,
               "sku": tables.transaction_lines.c.sku,
               "category": tables.transaction_lines.c.category}
    lengths = {kind: length(column) for kind, column in columns.items()}
    budget_key = length(tables.rule_budgets.c.rule_id) - len(CAMPAIGN_PREFIX)
    campaign = min(budget_key, length(tables.ledger_entries.c.campaign))
    assert {**lengths, "campaign": campaign} == LONGEST


def length(column: Column[Any]) -> int:
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


def line_rules(count: int) -> str:
    text = "ruleset: lines\non: [purchase]\nrules:\n"
    for n in range(count):
        text += (f"  - id: l{n}\n    description: d\n    then:\n      - award_points:\n"
                 f"          per_currency_unit: 1\n"
                 f"          on_lines: {{fact: line.category, is: c{n}}}\n")
    return text


def test_more_line_tests_than_the_engine_holds_in_one_evaluation_are_a_problem(
    pack: dict[str, str]
) -> None:
    """From the 255th property on, the engine silently matched nothing: every purchase would
    have earned no points at all."""
    del pack["catalogue.yaml"]  # the categories c0, c1... are made up: no catalogue lists them
    assert problems({**pack, "lines.yaml": line_rules(100)}) == []
    (problem,) = problems({**pack, "lines.yaml": line_rules(120)})
    assert problem.startswith("lines.yaml:")
    assert "the rules reacting to 'purchase' events test too much for the engine" in problem
    assert f"at most {MAX_FACT_PROPERTIES}" in problem


def test_the_engine_refuses_a_fact_it_would_silently_ignore() -> None:
    definition = {"r": {"all": [{"m": {"$and": [{"k": "c"}, {"x": 1}]}}], "run": "r"}}
    engine = Engine()
    fits = {"k": "c", "x": 1, **{f"p{n}": n for n in range(MAX_FACT_PROPERTIES - 4)}}
    hits, _ = engine.run("fits", definition, [fits], lambda found: [])
    assert len(hits) == 1
    too_many = {"k": "c", "x": 1, **{f"p{n}": n for n in range(MAX_FACT_PROPERTIES - 3)}}
    with pytest.raises(EngineError, match="the engine holds at most 254"):
        engine.run("too_many", definition, [too_many], lambda found: [])


def test_a_stored_version_is_read_without_the_limits_added_since(pack: dict[str, str]) -> None:
    """A version activated before a limit existed stays usable: a limit must not stop the
    rules in force when the service is upgraded."""
    long = "p" * 70
    files = {**pack, "x.yaml": RULE.format(effect=f"grant_privilege: {{privilege: {long}}}"),
             "big.yaml": RULE.format(effect="award_points: {points: 1}").replace(
                 "ruleset: x", "ruleset: big").replace("id: r", "id: b")
             + "#" * MAX_FILE_BYTES + "\n"}
    assert check_rules(files) != []
    book = build_rulebook(files, "7", stored=True)
    when = datetime(2026, 5, 2, tzinfo=UTC)
    occurrence = Occurrence("purchase", "t", when, Decimal(10), (Line("A", "a", 1, Decimal(10)),))
    member = Member("m", birth_date=date(1990, 1, 1), enrolled_at=when)
    decisions = book.evaluate(EvaluationInput(occurrence, member, MemberStats(), when))
    assert "r" in {decision.rule_id for decision in decisions}
