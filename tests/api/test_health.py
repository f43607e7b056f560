"""`/health` and `/ready` answer without a key; `/ready` says what is missing, with 503."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient

from loyalty import create_app
from loyalty.cli import main
from loyalty.store.db import make_engine
from loyalty.store.migrate import upgrade
from tests.conftest import RULES_DIR


def test_a_serving_app_is_alive_and_ready(client: FlaskClient) -> None:
    assert client.get("/health").json == {"status": "alive"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "checks": {
        "database": "reachable", "schema": "current", "rules": "version 1 in force"}}


def test_an_old_schema_is_not_ready(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0003")
    engine.dispose()
    app = create_app({"database_url": url, "rules_dir": str(RULES_DIR)})
    response = app.test_client().get("/ready")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json["checks"]["schema"].startswith("at 0003, ")
    assert app.test_client().get("/health").status_code == 200


def test_an_unreachable_database_is_not_ready() -> None:
    app = create_app({"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "rules_dir": str(RULES_DIR), "auto_migrate": False})
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "unreachable: OperationalError"}


def test_the_command_says_its_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("loyalty ")
