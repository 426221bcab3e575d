"""`darkroom sign`: print a signed render URL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import typer

from darkroom.errors import DarkroomError
from darkroom.signing import sign


def register(app: typer.Typer, load_keys: Callable[[], Sequence[str]]) -> None:
    """Add the `sign` command to `app`; `load_keys` returns DARKROOM_SIGNING_KEYS."""

    @app.command("sign")
    def sign_command(
        url: Annotated[
            str, typer.Argument(help="Path and query, e.g. '/v1/render/ID?w=300', or a full URL.")
        ],
        key: Annotated[
            str | None, typer.Option(help="Sign with this key instead of the configured one.")
        ] = None,
    ) -> None:
        """Print the URL with its sig parameter (signed with the first configured key)."""
        # Settings are only read when no key is given, so --key works without a config.
        keys = [key] if key is not None else list(load_keys())
        if not keys:
            typer.echo("Set DARKROOM_SIGNING_KEYS to sign URLs.", err=True)
            raise typer.Exit(2)
        try:
            signed = sign(url, keys[0])
        except DarkroomError as exc:
            typer.echo(exc.message, err=True)
            raise typer.Exit(2) from None
        typer.echo(signed)
