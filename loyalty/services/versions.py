"""Activating rule versions: a valid set becomes a new version (the set in force stays
otherwise), and an empty database starts with the bundled rules."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from loyalty import engine as rule_engine
from loyalty.config import Settings
from loyalty.domain.errors import RulesInvalid
from loyalty.services.context import utcnow
from loyalty.services.timing import iso
from loyalty.store.uow import SqlUnitOfWork, run_with_retry

log = logging.getLogger(__name__)


def check_files(files: Mapping[str, str]) -> list[str]:
    """Every problem of a candidate rule set, as text; empty when it is valid."""
    return [str(problem) for problem in rule_engine.check_rules(files)]


def activate_files(uow: SqlUnitOfWork, files: Mapping[str, str],
                   activated_by: str) -> dict[str, Any]:
    """Activate a checked set of files as the next version (unchanged files: no new one)."""
    problems = check_files(files)
    if problems:
        raise RulesInvalid(f"{len(problems)} problem(s) in the rule files; nothing was activated",
                           details={"problems": problems})
    content_hash = rule_engine.rules_content_hash(files)
    latest = uow.programme.latest_rule_version_number()
    if latest is not None:
        current = uow.programme.rule_version(latest)
        if current is not None and current.content_hash == content_hash:
            return {**version_view(current), "changed": False}
    version = (latest or 0) + 1
    rule_engine.build_rulebook(dict(files), str(version))  # compiles and probes in the engine
    values = {"version": version, "content_hash": content_hash, "files": dict(files),
              "activated_at": utcnow(), "activated_by": activated_by}
    uow.programme.add_rule_version(values)
    log.info("activated rules version %s (%s) by %s", version, content_hash[:10], activated_by)
    return {**version_view(values), "changed": True}


def bootstrap(engine: Engine, settings: Settings) -> None:
    """On a database with no rules yet, activate the bundled rules directory."""
    if not Path(settings.rules_dir).is_dir():
        return
    files = rule_engine.read_rule_dir(settings.rules_dir)

    def attempt() -> None:
        with SqlUnitOfWork(engine) as uow:
            if uow.programme.latest_rule_version_number() is None:
                activate_files(uow, files, "bootstrap")
                uow.commit()

    run_with_retry(attempt, retries=settings.max_retries)


def version_view(row: Any) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {"version": get("version"), "content_hash": get("content_hash"),
            "activated_at": iso(get("activated_at")), "activated_by": get("activated_by")}
