"""`darkroom dlq`: inspect, replay and purge dead letters."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from darkroom.cli.common import or_exit, print_json, service_context, wired_service
from darkroom.service import dead_letters

app = typer.Typer(help="Inspect, replay and purge dead letters.", no_args_is_help=True)


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Print dead letters, newest first, as JSON lines."""
    ctx = service_context()
    page = or_exit(
        lambda: dead_letters.list_page(ctx, include_replayed=all_, limit=limit, cursor=None)
    )
    for letter in page.items:
        print_json(letter)


@app.command("replay")
def replay(letter_ids: list[str]) -> None:
    """Requeue the work of these dead letters (needs a shared broker)."""
    with wired_service("`darkroom dlq replay`") as ctx:
        for letter_id in letter_ids:
            or_exit(lambda: dead_letters.replay(ctx, letter_id))  # noqa: B023 (called at once)
            typer.echo(f"replayed {letter_id}")


@app.command("purge")
def purge(
    older_than_days: Annotated[
        float | None, typer.Option(min=0, help="Only letters older than this.")
    ] = None,
) -> None:
    """Delete dead-letter records; the failed variants stay failed."""
    ctx = service_context()
    before = None if older_than_days is None else timedelta(days=older_than_days)
    typer.echo(
        f"purged {or_exit(lambda: dead_letters.purge(ctx, older_than=before))} dead letter(s)"
    )
