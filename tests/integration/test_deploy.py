"""The deployment recipes hold together without a container engine: the compose file follows
the compose specification and runs PostgreSQL, the service and the daily sweep; the Dockerfile
copies only what exists, runs as an unprivileged user and its command serves when run here;
the systemd units and the cron line call `loyalty` commands that exist, with options the
command accepts, and the sweep they schedule runs."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from dockerfile_parse import DockerfileParser

from loyalty.cli import main
from loyalty.config import Settings, unknown_variables
from tests.conftest import RULES_DIR
from tests.integration.operations_server import ROOT, Served, environment, run

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
#: Where the units and the cron line expect the project's virtual environment.
INSTALLED = "/opt/loyalty/.venv/bin/loyalty"
CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))


def parsed(args: list[str]) -> click.Context:
    """The `loyalty` command's reading of `args` (UsageError if it does not accept them),
    without running anything."""
    command: click.Command = main
    ctx = command.make_context("loyalty", list(args))
    while isinstance(command, click.Group):
        protected = getattr(ctx, "_protected_args", None)
        if protected is None:
            protected = ctx.protected_args
        name, sub, rest = command.resolve_command(ctx, [*protected, *ctx.args])
        assert name is not None and sub is not None, args
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return ctx


def swept(database_url: str, args: list[str]) -> dict[str, Any]:
    """Run a scheduled sweep command for real on the test database; its report."""
    result = CliRunner().invoke(main, args, env={"LOYALTY_DATABASE_URL": database_url,
                                                 "LOYALTY_RULES_DIR": str(RULES_DIR)})
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


# -- compose.yaml ------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    """The compose specification's own JSON schema (shipped by check-jsonschema) over `path`."""
    return subprocess.run([CHECK_JSONSCHEMA, "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=120, check=False)


def test_the_compose_file_follows_the_compose_specification() -> None:
    result = check_compose(ROOT / "compose.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_same_check_refuses_a_compose_file_with_a_mistake(tmp_path: Path) -> None:
    broken = (ROOT / "compose.yaml").read_text().replace(
        "    depends_on:\n      db:\n        condition: service_healthy\n", "    depends_on: db\n")
    broken = broken.replace("    restart: unless-stopped\n", "    restart_policy: always\n", 1)
    (tmp_path / "compose.yaml").write_text(broken)
    result = check_compose(tmp_path / "compose.yaml")
    assert result.returncode == 1
    assert "$.services.init.depends_on: 'db' is not valid" in result.stdout
    assert "'restart_policy' was unexpected" in result.stdout


def test_the_compose_file_runs_postgresql_then_the_service_and_the_daily_sweep() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "init", "api", "sweep"}
    db, init, api, sweep = (services[name] for name in ("db", "init", "api", "sweep"))
    assert db["image"].startswith("postgres:") and "healthcheck" in db
    assert init["depends_on"] == {"db": {"condition": "service_healthy"}}
    for service in (api, sweep):
        assert service["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    for service in (init, api, sweep):
        assert service["build"] == "." and (ROOT / "Dockerfile").is_file()
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert "command" not in api  # the image's own: `loyalty serve`
    assert "/ready" in " ".join(api["healthcheck"]["test"])
    parsed(init["command"][1:])
    assert init["command"][:2] == ["loyalty", "init"]
    daily = parsed(sweep["command"][1:])
    assert daily.info_name == "sweep" and daily.params["as_of"] == "today"
    assert daily.params["daily_at"] == "02:00"


def test_the_compose_services_set_only_valid_settings_for_the_database_they_run() -> None:
    document = compose()
    db = document["services"]["db"]["environment"]
    for name in ("init", "api", "sweep"):
        raw = document["services"][name]["environment"]
        env = {key: re.sub(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", "pw", value)
               for key, value in raw.items()}
        assert unknown_variables(env) == []
        settings = Settings.from_env(env)
        assert settings.database_url == (
            f"postgresql+psycopg://{db['POSTGRES_USER']}:pw@db:5432/{db['POSTGRES_DB']}")


def test_the_daily_sweep_of_the_compose_file_runs(database_url: str) -> None:
    command = compose()["services"]["sweep"]["command"]
    once = command[1:command.index("--every-day-at")]  # the run it repeats every day
    report = swept(database_url, once)
    assert set(report["phases"]) == {"points", "tiers", "vip", "lifecycle", "calendar",
                                     "important_dates", "value", "snapshots"}


# -- Dockerfile ----------------------------------------------------------------------------


def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(ROOT / "Dockerfile"))


def final_stage(parser: DockerfileParser) -> list[dict[str, Any]]:
    structure = parser.structure
    last = max(i for i, item in enumerate(structure) if item["instruction"] == "FROM")
    return structure[last:]


def copies(parser: DockerfileParser) -> list[tuple[list[str], str]]:
    """Each COPY or ADD from the build context: its sources and its destination."""
    found = []
    for item in parser.structure:
        if item["instruction"] not in {"COPY", "ADD"}:
            continue
        words = shlex.split(item["value"])
        if any(word.startswith("--from=") for word in words):
            continue
        words = [word for word in words if not word.startswith("--")]
        found.append((words[:-1], words[-1]))
    return found


def test_the_dockerfile_copies_only_files_that_exist_and_are_sent_to_the_build() -> None:
    sent = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
            if line.startswith("!")}
    sources = [source for found, _ in copies(dockerfile()) for source in found]
    assert sorted(set(sources)) == ["LICENSE", "README.md", "loyalty", "pyproject.toml", "rules",
                                    "setup.py"]
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source.rstrip("/") in sent, f"{source} is left out by .dockerignore"


def test_the_image_runs_loyalty_serve_as_a_user_that_is_not_root() -> None:
    stage = final_stage(dockerfile())
    users = [item["value"] for item in stage if item["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    cmd = json.loads(next(item["value"] for item in reversed(stage)
                          if item["instruction"] == "CMD"))
    assert cmd[:2] == ["loyalty", "serve"]
    assert parsed(cmd[1:]).params["bind"] == "0.0.0.0:8000"


def test_the_images_settings_are_valid() -> None:
    env = dockerfile().envs
    assert unknown_variables(env) == []
    settings = Settings.from_env(env)
    assert settings.database_url == "sqlite:////var/lib/loyalty/loyalty.db"
    assert settings.rules_dir in [destination for _, destination in copies(dockerfile())]


def test_the_images_command_serves_when_run_here(tmp_path: Path) -> None:
    """The image's command and settings, its folders mapped onto this machine: the rules copied
    into the image are the project's rules/, the data volume a new folder."""
    parser = dockerfile()
    stage = final_stage(parser)
    workdir = next(item["value"] for item in reversed(stage) if item["instruction"] == "WORKDIR")
    places = {destination: str(ROOT / sources[0]) for sources, destination in copies(parser)
              if len(sources) == 1 and destination.startswith("/")}
    places[workdir] = str(tmp_path / "data")
    places["/tmp"] = str(tmp_path / "tmp")

    inside = re.compile("|".join(re.escape(place) for place in sorted(places, key=len,
                                                                      reverse=True)))

    def here(value: str) -> str:
        return inside.sub(lambda match: places[match[0]], value)

    env = environment(**{name: here(value) for name, value in parser.envs.items()
                         if name.startswith("LOYALTY_")})
    (tmp_path / "data").mkdir(mode=0o700)
    init = run(["init"], env, cwd=tmp_path / "data")
    assert init.returncode == 0, init.stderr
    cmd = json.loads(next(item["value"] for item in reversed(stage)
                          if item["instruction"] == "CMD"))
    with Served(cmd[2:], env, cwd=tmp_path / "data", log=tmp_path / "serve.log") as server:
        assert server.get("/health").status_code == 200
        ready = server.get("/ready")
        assert ready.status_code == 200, ready.text
        assert len(server.worker_pids()) == int(cmd[cmd.index("--workers") + 1])
    assert (tmp_path / "data" / "loyalty.db").is_file()
    assert list((tmp_path / "tmp" / "loyalty-metrics").iterdir()) == []  # emptied at exit


# -- systemd units and the cron line -------------------------------------------------------


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name)
    return parser


def installed_command(line: str) -> list[str]:
    """The arguments a unit or the cron line gives the installed `loyalty` command."""
    words = shlex.split(line)
    start = words.index(INSTALLED)
    end = next((i for i, word in enumerate(words) if i > start and word in {"2>&1", "|"}),
               len(words))
    return words[start + 1:end]


def test_the_service_unit_serves_with_options_the_command_accepts() -> None:
    service = unit("loyalty.service")["Service"]
    args = installed_command(service["ExecStart"])
    ctx = parsed(args)
    assert ctx.info_name == "serve" and ctx.params["bind"].startswith("127.0.0.1:")
    assert service["User"] == "loyalty" and service["UMask"] == "0077"
    assert service["StateDirectoryMode"] == "0700"
    settings = dict(line.split("=", 1) for line in service.get("Environment", "").split())
    assert unknown_variables(settings) == [] and Settings.from_env(settings)


def test_the_timer_starts_the_daily_sweep_which_runs(database_url: str) -> None:
    timer = unit("loyalty-sweep.timer")["Timer"]
    assert timer["Unit"] == "loyalty-sweep.service" and (UNITS / timer["Unit"]).is_file()
    assert timer["OnCalendar"] == "*-*-* 02:00:00 UTC" and timer["Persistent"] == "true"
    service = unit("loyalty-sweep.service")["Service"]
    assert service["Type"] == "oneshot"
    args = installed_command(service["ExecStart"])
    assert parsed(args).info_name == "sweep"
    report = swept(database_url, args)
    assert report["shard"] == "1/1" and report["as_of"].endswith("T00:00:00+00:00")


def test_the_cron_line_runs_the_daily_sweep_at_two(database_url: str) -> None:
    lines = [line for line in (DEPLOY / "cron" / "loyalty").read_text().splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(lines) == 1
    minute, hour, day, month, weekday, user, command = lines[0].split(maxsplit=6)
    assert (minute, hour, day, month, weekday, user) == ("0", "2", "*", "*", "*", "loyalty")
    args = installed_command(command)
    assert parsed(args).info_name == "sweep"
    assert swept(database_url, args)["phases"]


def test_the_example_settings_file_is_valid() -> None:
    env = dict(line.split("=", 1) for line in (DEPLOY / "loyalty.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert unknown_variables(env) == []
    assert Settings.from_env(env).database_url.startswith("postgresql+psycopg://")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """systemd's own check, with the units pointing at this environment's `loyalty` (it
    refuses a command that does not exist) and at the example settings file."""
    here = str(Path(sys.executable).with_name("loyalty"))
    for path in UNITS.iterdir():
        text = path.read_text().replace(INSTALLED, here)
        text = text.replace("/etc/loyalty/loyalty.env", str(DEPLOY / "loyalty.env"))
        (tmp_path / path.name).write_text(text)
    names = sorted(str(path) for path in tmp_path.iterdir())
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *names],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    missing = tmp_path / "loyalty.service"
    missing.write_text(missing.read_text().replace(here, "/nonexistent/loyalty"))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(missing)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0 and "/nonexistent/loyalty" in result.stderr
