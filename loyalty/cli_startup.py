"""How every `loyalty` command starts and fails: settings checked first, one line per problem;
JSON log lines on standard error; a SQLite database that does not exist is never created on the
quiet (only `loyalty init` creates one); an unreachable database is one line, not a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from loyalty.config import Settings, SettingsInvalid, unknown_variables
from loyalty.observability.logs import configure_logging
from loyalty.store.outage import DatabaseUnavailable, describe, is_unavailable

#: Exit status of a command stopped by a setting (as for a wrong option), or by the database.
BAD_SETTING, NO_DATABASE = 2, 1


class DatabaseMissing(Exception):
    """The SQLite file the settings name does not exist, and this command does not create it."""


class LoyaltyGroup(click.Group):
    """The `loyalty` group: what stops a command at start or on the way (a bad setting, no
    database, a database that cannot be reached) is told in plain lines, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SettingsInvalid as error:
            for problem in error.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(BAD_SETTING)
        except DatabaseMissing as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(NO_DATABASE)
        except (SQLAlchemyError, DatabaseUnavailable) as error:
            if not is_unavailable(error):
                raise
            where = database_shown(Settings.from_env().database_url)
            click.echo(f"error: the database at {where} cannot be used: {describe(error)}",
                       err=True)
            sys.exit(NO_DATABASE)


def start() -> Settings:
    """What every command does first: check the settings (SettingsInvalid lists every
    problem), warn of `LOYALTY_*` variables that name no setting, and send log lines to
    standard error as JSON (at WARNING unless LOYALTY_LOG_LEVEL says otherwise: a command
    prints its own results)."""
    for warning in unknown_variables():
        click.echo(f"warning: {warning}", err=True)
    settings = Settings.from_env()
    configure_logging(settings.log_level or "WARNING")
    return settings


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite file database, None for an in-memory one or another
    database."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute()


def database_shown(url: str) -> str:
    """The database as an operator reads it: a SQLite file's absolute path, or the URL
    without its password."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


def require_database(settings: Settings) -> None:
    """Refuse (DatabaseMissing) to go on with a SQLite file that does not exist: a command run
    from another folder, or with a mistyped path, would create an empty database there and act
    on it."""
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        raise DatabaseMissing(
            f"no database at {path}: run `loyalty init` to create it there, or set "
            "LOYALTY_DATABASE_URL to the database to use")


def create_database_folder(settings: Settings) -> Path | None:
    """For `loyalty init`: the folder of a new SQLite database, created private (0700) if it
    does not exist; the file itself is created private by the engine. The file's path."""
    path = sqlite_file(settings.database_url)
    if path is not None:
        missing = [folder for folder in path.parents if not folder.exists()]
        for folder in reversed(missing):
            folder.mkdir(mode=0o700)
    return path


def command_context(*, create: bool = False) -> Any:
    """The service context for a command; a database with no schema yet gets one first. A
    SQLite file that does not exist is refused unless `create` (only `loyalty init`)."""
    from loyalty.app import build_context
    from loyalty.store.migrate import ensure_schema

    settings = Settings.from_env()
    if create:
        create_database_folder(settings)
    else:
        require_database(settings)
    ctx = build_context(settings)
    if settings.auto_migrate and ensure_schema(ctx.engine):
        click.echo(f"created the database schema at {database_shown(settings.database_url)}",
                   err=True)
    return ctx
