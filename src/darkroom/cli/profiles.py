"""`darkroom profiles`: manage the profiles stored in the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from darkroom.cli.common import or_exit, service_context, wired_service
from darkroom.service import profiles
from darkroom.service.profiles import ProfileView

app = typer.Typer(help="Manage the profiles stored in the database.", no_args_is_help=True)


def _echo(profile: ProfileView) -> None:
    typer.echo(json.dumps({"name": profile.name, "version": profile.version, "spec": profile.spec}))


@app.command("list")
def list_() -> None:
    """Print every profile as JSON lines."""
    ctx = service_context()
    for profile in or_exit(lambda: profiles.list_profiles(ctx)):
        _echo(profile)


@app.command("get")
def get(name: str) -> None:
    """Print one profile as JSON."""
    ctx = service_context()
    _echo(or_exit(lambda: profiles.get_profile(ctx, name)))


@app.command("put")
def put(
    name: str,
    spec: Annotated[str, typer.Argument(help="The spec as JSON, or @path/to/spec.json.")],
) -> None:
    """Create or replace a profile."""
    text = Path(spec[1:]).read_text() if spec.startswith("@") else spec
    try:
        fields = json.loads(text)
    except ValueError as exc:
        typer.echo(f"The spec is not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    ctx = service_context()
    _echo(or_exit(lambda: profiles.put_profile(ctx, name, fields)))


@app.command("delete")
def delete(name: str) -> None:
    """Delete a profile."""
    ctx = service_context()
    or_exit(lambda: profiles.delete_profile(ctx, name))
    typer.echo(f"deleted {name}")


@app.command("backfill")
def backfill(name: str) -> None:
    """Add a profile where missing, render it again where older (needs a shared broker)."""
    with wired_service("`darkroom profiles backfill`") as ctx:
        count = or_exit(lambda: profiles.backfill(ctx, name))
    typer.echo(f"queued {name} for {count} image(s)")
