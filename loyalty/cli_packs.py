"""`loyalty packs` and `loyalty rules new`: the bundled packs, and an editable copy of one."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from loyalty.packs import DEFAULT_PACK, pack_dir, pack_names, pack_summary

#: The rule language's guide for marketing: the retail pack's README, written beside every
#: other pack's files as LANGUAGE.md.
GUIDE = "LANGUAGE.md"


@click.command("packs")
def packs_command() -> None:
    """List the bundled packs: ready-made programmes to start from."""
    for name in pack_names():
        summary = pack_summary(name)
        default = " (the default)" if name == DEFAULT_PACK else ""
        click.echo(f"{name}{default}: {summary['title']}")
        if summary["description"]:
            click.echo(f"    {summary['description']}")


@click.command("new")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--pack", type=click.Choice(pack_names()), default=DEFAULT_PACK,
              show_default=True, help="The bundled pack to copy.")
def new_rules(directory: Path, pack: str) -> None:
    """Write an editable copy of a bundled pack into DIRECTORY (new, or empty)."""
    if directory.exists() and any(directory.iterdir()):
        click.echo(f"error: {directory} is not empty: name a new folder, so no rule file "
                   "is overwritten", err=True)
        raise SystemExit(1)
    source = pack_dir(pack)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in (".yaml", ".md"):
            shutil.copyfile(path, directory / path.name)
            written.append(path.name)
    if pack != DEFAULT_PACK:
        shutil.copyfile(pack_dir(DEFAULT_PACK) / "README.md", directory / GUIDE)
        written.append(GUIDE)
    click.echo(f"wrote the {pack} pack to {directory}: {', '.join(written)}")
    click.echo(f"check your changes with `loyalty rules check {directory}`, then "
               f"`loyalty rules activate {directory} --reason R`")
