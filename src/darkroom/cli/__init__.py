"""The `darkroom` command: one module per command group, each a thin adapter over the service."""

from __future__ import annotations

import typer

from darkroom.cli import batch, dlq, keys, profiles, serve, sign
from darkroom.cli.common import load

app = typer.Typer(help="Darkroom: self-hosted image processing.", no_args_is_help=True)
serve.register(app)
app.add_typer(profiles.app, name="profiles")
app.add_typer(dlq.app, name="dlq")
app.add_typer(keys.app, name="keys")
batch.register(app)
sign.register(app, lambda: [k.get_secret_value() for k in load().signing_keys])


def main() -> None:
    """Console-script entry point."""
    app(prog_name="darkroom")


if __name__ == "__main__":
    main()
