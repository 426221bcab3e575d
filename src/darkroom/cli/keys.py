"""`darkroom keys`: create, list and revoke API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from darkroom.cli.common import or_exit, print_json, service_context
from darkroom.service import auth

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@app.command("create")
def create(
    owner: Annotated[str, typer.Option(help="The owner whose images the key acts on.")],
    role: Annotated[str, typer.Option(help="read, upload or admin.")] = "upload",
    name: Annotated[str | None, typer.Option(help="A label to tell keys apart.")] = None,
) -> None:
    """Print a new key alone on the first line (it is shown only this once), then its record."""
    ctx = service_context()
    key, record = or_exit(lambda: auth.create_key(ctx, owner_id=owner, role=role, name=name))
    typer.echo(key)
    print_json(record)


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
) -> None:
    """Print every key's record (never the key) as JSON lines, oldest first."""
    ctx = service_context()
    for record in or_exit(lambda: auth.list_keys(ctx, include_revoked=all_)):
        print_json(record)


@app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key by its id; requests with it are refused from then on."""
    ctx = service_context()
    record = or_exit(lambda: auth.revoke_key(ctx, key_id))
    typer.echo(f"revoked {record.id} ({record.prefix}…, owner {record.owner_id})")
