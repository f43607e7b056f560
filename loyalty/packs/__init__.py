"""The rule packs shipped with the service: ready-made programmes for five businesses.

Each pack is a rules folder. In an installed copy they live in this package (`packs/<name>/`);
the retail pack is the top-level `rules/` folder of the source tree, which the build ships as
`packs/retail` (see setup.py), so a checkout reads it from `rules/` directly.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from loyalty.domain.errors import ValidationFailed

DEFAULT_PACK = "retail"
_HERE = Path(__file__).resolve().parent
_CHECKOUT_RULES = _HERE.parents[1] / "rules"


def _folders() -> dict[str, Path]:
    found = {path.name: path for path in sorted(_HERE.iterdir())
             if path.is_dir() and (path / "program.yaml").is_file()}
    if DEFAULT_PACK not in found and (_CHECKOUT_RULES / "program.yaml").is_file():
        found[DEFAULT_PACK] = _CHECKOUT_RULES
    return dict(sorted(found.items()))


def pack_names() -> list[str]:
    """The names of the bundled packs, alphabetically."""
    return list(_folders())


def pack_dir(name: str) -> Path:
    """The folder of a bundled pack; a clear error naming the packs there are otherwise."""
    folders = _folders()
    if name not in folders:
        raise ValidationFailed(
            f"no pack named {name!r}; the packs are: {', '.join(folders) or 'none'}")
    return folders[name]


def pack_summary(name: str) -> dict[str, str]:
    """A pack's name, title and description, from its program.yaml."""
    program = yaml.safe_load((pack_dir(name) / "program.yaml").read_text(encoding="utf-8"))
    programme = program.get("programme") or {} if isinstance(program, dict) else {}
    return {"pack": name, "title": str(programme.get("title", name)),
            "description": str(programme.get("description", ""))}
