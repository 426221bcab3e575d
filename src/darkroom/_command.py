"""The `darkroom` command's entry: one clear line, not a traceback, when the server is missing.

`pip install darkroom-images` alone is the client. The command needs the `server` extra;
this module imports nothing of it until it has checked that the extra's packages are there.
"""

from __future__ import annotations

import importlib.util
import sys

SERVER_MODULES = (
    "alembic",
    "dramatiq",
    "fastapi",
    "fastapi_offline",
    "multipart",
    "PIL",
    "prometheus_client",
    "pydantic_settings",
    "pyvips",
    "rich",
    "sqlalchemy",
    "typer",
    "uvicorn",
)
"""The top-level modules of the `server` extra's packages."""

INSTALL = "pip install 'darkroom-images[server]'"
EXIT_USAGE = 2


def missing_modules() -> list[str]:
    """The server extra's modules that cannot be found, without importing any of them."""
    missing = []
    for name in SERVER_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def refusal(missing: list[str]) -> str:
    """The one line printed when the server cannot run here."""
    return (
        f"darkroom: the server is not installed here (missing: {', '.join(missing)}); "
        f"install it with: {INSTALL}"
    )


def main() -> None:
    """Console-script entry point: run the server CLI, or say how to install it."""
    missing = missing_modules()
    if not missing:
        try:
            from darkroom.cli import main as cli_main
        except ModuleNotFoundError as exc:  # a package of the extra present but broken
            missing = [exc.name or str(exc)]
        else:
            cli_main()
            return
    print(refusal(missing), file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
