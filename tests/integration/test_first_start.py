"""A database with no schema is made ready on first use: by any `loyalty` command that needs
it, or by the app itself, once even when several workers start together."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from loyalty import create_app
from loyalty.cli import main
from loyalty.store.db import make_engine
from loyalty.store.migrate import current, ensure_schema, upgrade
from tests.conftest import RULES_DIR


def test_keys_create_on_an_empty_database_creates_the_schema_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "new.db").touch()  # an empty file: a file that is not there is refused
    monkeypatch.setenv("LOYALTY_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(main, ["keys", "create", "--role", "pos", "--name", "till-12"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("lk_")
    assert "Traceback" not in result.output


def test_the_app_creates_the_schema_on_first_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    app = create_app({"database_url": url, "rules_dir": str(RULES_DIR)})
    engine = app.extensions["loyalty"].engine
    assert current(engine) is not None
    response = app.test_client().get("/api/v1/rewards")
    assert response.status_code == 401
    engine.dispose()


def _start(url: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine = make_engine(url)
    try:
        results.put(ensure_schema(engine))
    except Exception as error:  # reported to the parent, which fails the test
        results.put(repr(error))
    finally:
        engine.dispose()


def test_workers_starting_together_create_the_schema_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=_start, args=(url, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    outcomes = sorted(str(results.get(timeout=5)) for _ in workers)
    assert outcomes == ["False", "False", "True"]


def test_stored_phones_are_rewritten_in_e164(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    columns = ("member_id, tier, vip, lifecycle_stage, points_available, points_pending, "
               "points_debt, points_lifetime, lifetime_spend, lifetime_visits, enrolled_at, "
               "created_at, bucket, attributes, tags, categories, phone")
    with engine.begin() as conn:
        for member_id, phone in [("A", "13800000003"), ("B", "0086 138 0000 0002"),
                                 ("C", "+8613800000001"), ("D", "12345"),
                                 ("E", "13800000001")]:
            conn.execute(text(
                f"INSERT INTO members ({columns}) VALUES (:id, 'member', 0, 'new', 0, 0, 0, 0, "
                "0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, '{}', '[]', '[]', :phone)"),
                {"id": member_id, "phone": phone})
    upgrade(engine)
    with engine.connect() as conn:
        phones = dict(conn.execute(select(text("member_id"), text("phone"))
                                   .select_from(text("members"))).all())
    engine.dispose()
    # E's number is C's number: it is left for a person to resolve, never merged silently
    assert phones == {"A": "+8613800000003", "B": "+8613800000002", "C": "+8613800000001",
                      "D": "12345", "E": "13800000001"}
