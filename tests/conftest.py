"""Shared fixtures: a fresh migrated database per test (SQLite by default, PostgreSQL when
LOYALTY_TEST_DATABASE_URL names one), the app, a test client and API keys per role."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import Phase, settings
from sqlalchemy import text

from loyalty import create_app
from loyalty.services.context import ServiceContext
from loyalty.services.keys import create_key
from loyalty.store.db import make_engine
from loyalty.store.migrate import upgrade
from loyalty.store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent
RULES_DIR = ROOT / "rules"
POSTGRES_URL = os.environ.get("LOYALTY_TEST_DATABASE_URL", "")


def on_postgres() -> bool:
    return POSTGRES_URL.startswith("postgresql")


# Under mutation testing (mutmut sets MUTANT_UNDER_TEST for its whole run) a failing example
# only needs to be found, not simplified: shrinking can take minutes per mutant.
settings.register_profile("mutation", phases=(Phase.explicit, Phase.reuse, Phase.generate),
                          database=None)
if "MUTANT_UNDER_TEST" in os.environ:
    settings.load_profile("mutation")


#: Under mutation testing, the tests that judge a mutant of these modules: the rest of the suite
#: runs the compiler on the way (every test builds a rule book), not to check it.
MUTATION_JUDGES = {
    "loyalty.engine.compiler.": ("tests/unit/engine/", "tests/bdd/test_rule_language.py"),
}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the rule probe's and the rehearsal's child processes when the run ends, reaped here:
    a runner that runs the suite in its own process and then waits for its own children (the
    mutation tests do) must never receive one of ours."""
    from loyalty.engine.probe import close_all

    close_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres_only` need PostgreSQL's row locks: skipped, with the reason, on
    SQLite (the summary lists every skip and why). Under mutation testing a compiler mutant is
    judged by the engine's own tests, and the fastest tests run first, so that a mutant is
    caught as soon as possible."""
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    judges = next((paths for module, paths in MUTATION_JUDGES.items()
                   if mutant.startswith(module)), None)
    if judges is not None:
        config.hook.pytest_deselected(
            items=[item for item in items if not item.nodeid.startswith(judges)])
        items[:] = [item for item in items if item.nodeid.startswith(judges)]
    if mutant and Path("mutmut-stats.json").is_file():
        durations = json.loads(Path("mutmut-stats.json").read_text())["duration_by_test"]
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
    if on_postgres():
        return
    skip = pytest.mark.skip(reason="postgres_only: set LOYALTY_TEST_DATABASE_URL to a "
                                   "PostgreSQL database to run it")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite file to copy, or the PostgreSQL database itself."""
    if on_postgres():
        engine = make_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        engine.dispose()
        return POSTGRES_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return str(path)


def emptied(url: str) -> str:
    """The PostgreSQL database at `url` with every table emptied."""
    engine = make_engine(url)
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def database_url(_template_db: str, tmp_path: Path) -> str:
    """A database with the current schema and no rows."""
    if on_postgres():
        return emptied(_template_db)
    target = tmp_path / "loyalty.db"
    shutil.copyfile(_template_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_config(database_url: str) -> dict[str, Any]:
    return {"database_url": database_url, "rules_dir": str(RULES_DIR),
            "rules_refresh_seconds": 0.0, "key_cache_seconds": 0.0}


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    application.config["TESTING"] = True
    yield application
    application.extensions["loyalty"].engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> ServiceContext:
    context: ServiceContext = app.extensions["loyalty"]
    return context


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_key(ctx: ServiceContext) -> Callable[[str], str]:
    """A new API key with the given role."""

    def make(role: str) -> str:
        return create_key(ctx, role, f"test-{role}")[0]

    return make


@pytest.fixture
def auth(make_key: Callable[[str], str]) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a role, one key per role per test."""
    keys: dict[str, str] = {}

    def headers(role: str = "pos") -> dict[str, str]:
        if role not in keys:
            keys[role] = make_key(role)
        return {"Authorization": f"Bearer {keys[role]}"}

    return headers


class Reliability:
    """The `reliability` fixture: a test of the reliability report records its figures here
    (`tests/reliability.py`); outside a report run it records nothing."""

    def __init__(self, test: str) -> None:
        self.test = test

    def record(self, **figures: int) -> None:
        from tests.reliability import record

        record(self.test, "postgresql" if on_postgres() else "sqlite", **figures)


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Reliability:
    return Reliability(request.node.nodeid.split("[")[0])
