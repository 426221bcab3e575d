"""The distribution's shape: the core is the client, and every server-side extra is a server."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()


def test_the_core_is_only_what_the_client_needs() -> None:
    assert sorted(_name(r) for r in PROJECT["dependencies"]) == ["httpx", "pydantic"]


def test_every_other_extra_brings_the_server() -> None:
    for extra, requirements in EXTRAS.items():
        if extra == "server":
            continue
        brings = [r for r in requirements if r.startswith("darkroom-images[")]
        extras_named = {e for r in brings for e in r[r.index("[") + 1 : -1].split(",")}
        assert "server" in extras_named, f"[{extra}] alone would install no server"


def test_the_server_extra_holds_the_service() -> None:
    names = {_name(r) for r in EXTRAS["server"]}
    assert {"pyvips", "fastapi", "uvicorn", "sqlalchemy", "alembic", "dramatiq", "typer"} <= names


def test_the_command_goes_through_the_shim() -> None:
    assert PROJECT["scripts"] == {"darkroom": "darkroom._command:main"}
