"""The bundled packs: each checks clean, `loyalty packs` lists them, `loyalty init --pack`
starts a programme from one, `loyalty rules new` writes an editable copy, and an installed
copy run from an empty folder starts with the default pack."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from loyalty import engine as rule_engine
from loyalty.cli_rules import check_report
from loyalty.packs import DEFAULT_PACK, pack_dir, pack_names, pack_summary
from tests.conftest import RULES_DIR
from tests.integration.operations_server import environment, run


@pytest.mark.parametrize("pack", pack_names())
def test_every_bundled_pack_checks_with_no_problems(pack: str) -> None:
    lines, ok = check_report(pack_dir(pack))
    assert ok, "\n".join(lines)
    assert pack_summary(pack)["title"] != pack, "each pack names itself in program.yaml"


def test_the_retail_pack_is_the_rules_folder_and_the_default() -> None:
    assert DEFAULT_PACK == "retail"
    assert pack_dir("retail").resolve() == RULES_DIR.resolve()


def test_packs_lists_each_pack_with_its_title(tmp_path: Path) -> None:
    result = run(["packs"], environment(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for pack in pack_names():
        default = " (the default)" if pack == DEFAULT_PACK else ""
        assert f"{pack}{default}: {pack_summary(pack)['title']}\n" in result.stdout


def _active_hash(database: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT content_hash FROM rule_versions ORDER BY version"))
        found = [row[0] for row in hashes]
    engine.dispose()
    return found


@pytest.mark.parametrize("pack", [name for name in pack_names() if name != DEFAULT_PACK][:1]
                         or [DEFAULT_PACK])
def test_init_with_a_pack_activates_it_and_then_refuses_another(tmp_path: Path,
                                                                 pack: str) -> None:
    database = tmp_path / "loyalty.db"
    env = environment(LOYALTY_DATABASE_URL=f"sqlite:///{database}")
    result = run(["init", "--pack", pack], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("rules version 1 active\n")
    expected = rule_engine.rules_content_hash(rule_engine.read_rule_dir(pack_dir(pack)))
    assert _active_hash(database) == [expected]

    again = run(["init", "--pack", DEFAULT_PACK], env, cwd=tmp_path)
    assert again.returncode == 1
    assert f"the {DEFAULT_PACK} pack was not activated: this database already has rules " \
           "(version 1)" in again.stderr
    assert _active_hash(database) == [expected]


def test_init_in_an_empty_folder_starts_with_the_default_pack(tmp_path: Path) -> None:
    result = run(["init"], environment(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"database ready at {tmp_path / 'loyalty.db'}; rules version 1 active\n"
    expected = rule_engine.rules_content_hash(rule_engine.read_rule_dir(pack_dir(DEFAULT_PACK)))
    assert _active_hash(tmp_path / "loyalty.db") == [expected]


def test_init_with_an_unknown_pack_names_the_packs_there_are(tmp_path: Path) -> None:
    result = run(["init", "--pack", "casino"], environment(), cwd=tmp_path)
    assert result.returncode == 2
    assert "'casino' is not one of" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("pack", pack_names())
def test_rules_new_writes_an_editable_copy_that_checks_clean(tmp_path: Path, pack: str) -> None:
    target = tmp_path / "our-rules"
    result = run(["rules", "new", str(target), "--pack", pack], environment(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    source = pack_dir(pack)
    for path in source.iterdir():
        if path.suffix in (".yaml", ".md"):
            assert (target / path.name).read_bytes() == path.read_bytes()
    guide = target / "LANGUAGE.md"
    assert guide.is_file() == (pack != DEFAULT_PACK)
    lines, ok = check_report(target)
    assert ok, "\n".join(lines)


def test_rules_new_never_overwrites_a_folder_with_files(tmp_path: Path) -> None:
    target = tmp_path / "rules"
    target.mkdir()
    (target / "earning.yaml").write_text("# ours\n")
    result = run(["rules", "new", str(target)], environment(), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (f"error: {target} is not empty: name a new folder, so no rule "
                             "file is overwritten\n")
    assert [p.name for p in target.iterdir()] == ["earning.yaml"]
    assert (target / "earning.yaml").read_text() == "# ours\n"
