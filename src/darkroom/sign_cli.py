"""`darkroom sign`: print a signed render URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import typer

from darkroom.signing import sign


def register(app: typer.Typer, load_keys: Callable[[], Sequence[str]]) -> None:
    """Add the `sign` command to `app`; `load_keys` reads DARKROOM_SIGNING_KEYS."""

    @app.command("sign")
    def sign_command(
        url: Annotated[str, typer.Argument(help="Path and query, e.g. '/v1/render/ID?w=300'.")],
        key: Annotated[str | None, typer.Option(help="Sign with this key instead.")] = None,
    ) -> None:
        """Print the URL with its signature (first key of DARKROOM_SIGNING_KEYS)."""
        keys = [key] if key else list(load_keys())
        if not keys:
            typer.echo("Set DARKROOM_SIGNING_KEYS to sign URLs.", err=True)
            raise typer.Exit(2)
        typer.echo(sign(url, keys[0]))
