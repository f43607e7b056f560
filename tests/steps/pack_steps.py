"""Steps about the bundled packs: listing them, starting an installation from one, and the
editable copy marketing gets. They run the `loyalty` command as an operator would."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_bdd import given, parsers, then, when
from sqlalchemy import create_engine, text

from loyalty import create_app
from loyalty import engine as rule_engine
from loyalty.cli import main
from loyalty.cli_rules import check_report
from loyalty.packs import DEFAULT_PACK, pack_dir, pack_names, pack_summary
from loyalty.services.keys import create_key


@dataclass
class Installation:
    """A data folder of its own, and what the last command said."""

    home: Path
    result: Result | None = None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'loyalty.db'}"

    def loyalty(self, *args: str) -> Result:
        """`loyalty ARGS` run in the installation's folder, which has no rules folder."""
        env = {"LOYALTY_DATABASE_URL": self.database_url, "LOYALTY_RULES_DIR": None}
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(self.home)
            self.result = CliRunner().invoke(main, list(args), env=env,
                                             catch_exceptions=False)
        return self.result

    def versions(self) -> list[str]:
        """The content of each rules version activated, oldest first."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT content_hash FROM rule_versions "
                                         "ORDER BY version"))
                return [row[0] for row in rows]
        finally:
            engine.dispose()


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    return Installation(tmp_path)


def _hash(pack: str) -> str:
    return rule_engine.rules_content_hash(rule_engine.read_rule_dir(pack_dir(pack)))


@given("a new installation with no programme yet")
def new_installation(installation: Installation) -> None:
    assert not (installation.home / "loyalty.db").exists()


@given(parsers.parse("the operator started it with the {pack} pack"))
@when(parsers.parse("the operator starts it with the {pack} pack"))
def start_with_pack(installation: Installation, pack: str) -> None:
    installation.loyalty("init", "--pack", pack)


@when("the operator starts it without naming a pack")
def start_without_pack(installation: Installation) -> None:
    installation.loyalty("init")


@when("the operator lists the packs")
def list_packs(installation: Installation) -> None:
    installation.loyalty("packs")


@then(parsers.parse("the list names the {names} packs, each with its title"))
def packs_listed(installation: Installation, names: str) -> None:
    assert installation.result is not None and installation.result.exit_code == 0
    wanted = [name.strip() for name in names.replace(" and ", ", ").split(",")]
    assert sorted(wanted) == sorted(pack_names())
    for name in wanted:
        assert f"{name}" in installation.result.output
        assert pack_summary(name)["title"] in installation.result.output


@then(parsers.parse("the {pack} pack is marked as the default"))
def default_marked(installation: Installation, pack: str) -> None:
    assert installation.result is not None
    assert f"{pack} (the default):" in installation.result.output and pack == DEFAULT_PACK


@then(parsers.parse("the {pack} pack is the programme in force"))
def pack_in_force(installation: Installation, pack: str) -> None:
    assert installation.versions() == [_hash(pack)]


@then("a guest who stays two nights earns points")
def guest_earns(installation: Installation) -> None:
    app = create_app({"database_url": installation.database_url,
                      "rules_refresh_seconds": 0.0})
    ctx = app.extensions["loyalty"]
    try:
        key = create_key(ctx, "pos", "front-desk")[0]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        enrolled = client.post("/api/v1/members", json={"member_id": "G-1", "name": "Guest"},
                               headers=headers)
        assert enrolled.status_code == 201, enrolled.get_json()
        stay: dict[str, Any] = {
            "transaction_id": "STAY-1", "type": "purchase", "member_id": "G-1",
            "occurred_at": "2026-11-20T14:03:00+08:00", "channel": "web", "currency": "CNY",
            "lines": [{"sku": "ROOM-DELUXE", "category": "room-night", "quantity": 2,
                       "unit_price": "800.00"}],
            "payments": [{"method": "card", "amount": "1600.00"}], "offer_codes": []}
        answer = client.post("/api/v1/transactions", json=stay, headers=headers)
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["points"]["earned"] > 0
    finally:
        ctx.engine.dispose()


@then("the operator is told the installation already has a programme")
def told_already(installation: Installation) -> None:
    assert installation.result is not None and installation.result.exit_code == 1
    assert "this database already has rules" in installation.result.output


@given("a folder of marketing's own with a rule file in it")
def own_folder(installation: Installation) -> None:
    folder = installation.home / "our-rules"
    folder.mkdir()
    (folder / "earning.yaml").write_text("# our own earning rules\n")
    installation.files = {"earning.yaml": (folder / "earning.yaml").read_bytes()}


@when(parsers.parse("marketing writes the {pack} pack into {where}"))
def write_copy(installation: Installation, pack: str, where: str) -> None:
    installation.loyalty("rules", "new", str(installation.home / "our-rules"), "--pack", pack)


@then(parsers.parse("the folder holds the {pack}'s rule files and the guide to the rule language"))
def copy_holds(installation: Installation, pack: str) -> None:
    folder = installation.home / "our-rules"
    for path in pack_dir(pack).iterdir():
        if path.suffix in (".yaml", ".md"):
            assert (folder / path.name).read_bytes() == path.read_bytes(), path.name
    guide = (pack_dir(DEFAULT_PACK) / "README.md").read_bytes()
    assert (folder / "LANGUAGE.md").read_bytes() == guide


@then("the rule check finds no problems in the folder")
def copy_checks(installation: Installation) -> None:
    lines, ok = check_report(installation.home / "our-rules")
    assert ok, "\n".join(lines)


@then("they are told the folder is not empty")
def told_not_empty(installation: Installation) -> None:
    assert installation.result is not None and installation.result.exit_code == 1
    assert "is not empty" in installation.result.output


@then("their rule file is unchanged")
def unchanged(installation: Installation) -> None:
    folder = installation.home / "our-rules"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == installation.files
