"""The `darkroom` command: thin adapters over the service layer."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from darkroom import batch_cli, sign_cli
from darkroom.allocator import tune_allocator
from darkroom.errors import DarkroomError
from darkroom.settings import Settings, load_settings, settings_table

app = typer.Typer(help="Darkroom: self-hosted image processing.", no_args_is_help=True)
profiles_app = typer.Typer(help="Manage the profiles stored in the database.", no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")
dlq_app = typer.Typer(help="Inspect, replay and purge dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
batch_cli.register(app)
sign_cli.register(app, lambda: [k.get_secret_value() for k in _load().signing_keys])


def _settings_epilog() -> str:
    rows = [
        f"{env} (default: {default}): {description}"
        for env, default, description in settings_table()
    ]
    return "Settings (environment variables):\n\n" + "\n\n".join(rows)


def _load(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except DarkroomError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings


@app.command(epilog=_settings_epilog())
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (DARKROOM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (DARKROOM_PORT).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Transform threads (DARKROOM_WORKERS; default: cores).")
    ] = None,
) -> None:
    """Run the API, the workers and the reconciler in one process (SQLite + local folder)."""
    from darkroom.runtime import Embedded
    from darkroom.server import serve_http

    settings = _load(host=host, port=port, workers=workers)
    tune_allocator()
    runtime = _or_exit(lambda: Embedded(settings))
    serve_http(runtime.app(), settings)


@app.command(epilog=_settings_epilog())
def api(
    host: Annotated[str | None, typer.Option(help="Address to bind (DARKROOM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (DARKROOM_PORT).")] = None,
) -> None:
    """Run the HTTP API only; the work goes through the broker to `darkroom worker`s."""
    from darkroom.roles import api_app
    from darkroom.server import serve_http

    settings = _load(host=host, port=port)
    tune_allocator()
    serve_http(_or_exit(lambda: api_app(settings)), settings)


@app.command(epilog=_settings_epilog())
def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues to consume: dispatch, transform.")
    ] = "dispatch,transform",
    processes: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    threads: Annotated[
        int | None, typer.Option(min=1, help="Threads per process (DARKROOM_WORKERS).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus metrics on this port (+ process index)."),
    ] = None,
) -> None:
    """Consume the queues (and reconcile stuck work) until SIGTERM."""
    from darkroom.roles import WorkerProcess, run_worker_processes

    if processes > 1:
        argv = ["worker", "--queues", queues] + (["--threads", str(threads)] if threads else [])
        raise typer.Exit(run_worker_processes(argv, processes, metrics_port))
    settings = _load(workers=threads)
    tune_allocator()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    process = _or_exit(lambda: WorkerProcess(settings, names, settings.workers))
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=settings.host, registry=process.ctx.registry)
    process.run()


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    from darkroom.db.migrate import upgrade

    settings = _load()
    _or_exit(lambda: upgrade(settings.database_url))
    typer.echo("database is up to date")


def _context() -> Any:
    from darkroom.db.migrate import upgrade
    from darkroom.service.context import build_context

    settings = _load()
    _or_exit(lambda: upgrade(settings.database_url))
    return _or_exit(lambda: build_context(settings))


@profiles_app.command("list")
def profiles_list() -> None:
    """Print every profile as JSON lines."""
    from darkroom.service import profiles

    ctx = _context()
    for profile in _or_exit(lambda: profiles.list_profiles(ctx)):
        typer.echo(
            json.dumps({"name": profile.name, "version": profile.version, "spec": profile.spec})
        )


@profiles_app.command("get")
def profiles_get(name: str) -> None:
    """Print one profile as JSON."""
    from darkroom.service import profiles

    ctx = _context()
    profile = _or_exit(lambda: profiles.get_profile(ctx, name))
    typer.echo(json.dumps({"name": profile.name, "version": profile.version, "spec": profile.spec}))


@profiles_app.command("put")
def profiles_put(
    name: str,
    spec: Annotated[str, typer.Argument(help="The spec as JSON, or @path/to/spec.json.")],
) -> None:
    """Create or replace a profile."""
    from darkroom.service import profiles

    text = Path(spec[1:]).read_text() if spec.startswith("@") else spec
    try:
        fields = json.loads(text)
    except ValueError as exc:
        typer.echo(f"The spec is not valid JSON: {exc}", err=True)
        raise typer.Exit(2) from None
    ctx = _context()
    profile = _or_exit(lambda: profiles.put_profile(ctx, name, fields))
    typer.echo(json.dumps({"name": profile.name, "version": profile.version, "spec": profile.spec}))


@profiles_app.command("delete")
def profiles_delete(name: str) -> None:
    """Delete a profile."""
    from darkroom.service import profiles

    ctx = _context()
    _or_exit(lambda: profiles.delete_profile(ctx, name))
    typer.echo(f"deleted {name}")


@profiles_app.command("backfill")
def profiles_backfill(name: str) -> None:
    """Produce a profile for every existing image that lacks it (needs a shared broker)."""
    from darkroom.roles import connect
    from darkroom.service import profiles

    ctx, queue = _or_exit(lambda: connect(_load()))
    try:
        count = _or_exit(lambda: profiles.backfill(ctx, name))
    finally:
        queue.broker.close()
    typer.echo(f"queued {name} for {count} image(s)")


@dlq_app.command("list")
def dlq_list(
    all_: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """Print dead letters, newest first, as JSON lines."""
    from darkroom.api.views import dead_letter_view
    from darkroom.service import dead_letters

    ctx = _context()
    page = _or_exit(
        lambda: dead_letters.list_page(ctx, include_replayed=all_, limit=limit, cursor=None)
    )
    for letter in page.items:
        typer.echo(json.dumps(dead_letter_view(letter)))


@dlq_app.command("replay")
def dlq_replay(letter_ids: list[str]) -> None:
    """Requeue the work of these dead letters (needs a shared broker)."""
    from darkroom.roles import connect
    from darkroom.service import dead_letters

    ctx, queue = _or_exit(lambda: connect(_load()))
    try:
        for letter_id in letter_ids:
            _or_exit(lambda: dead_letters.replay(ctx, letter_id))  # noqa: B023 (called at once)
            typer.echo(f"replayed {letter_id}")
    finally:
        queue.broker.close()


@dlq_app.command("purge")
def dlq_purge(
    older_than_days: Annotated[
        float | None, typer.Option(min=0, help="Only letters older than this.")
    ] = None,
) -> None:
    """Delete dead-letter records; the failed variants stay failed."""
    from datetime import timedelta

    from darkroom.db.schema import utcnow
    from darkroom.service import dead_letters

    ctx = _context()
    before = utcnow() - timedelta(days=older_than_days) if older_than_days is not None else None
    typer.echo(f"purged {_or_exit(lambda: dead_letters.purge(ctx, before=before))} dead letter(s)")


def _or_exit(call: Any) -> Any:
    try:
        return call()
    except DarkroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    """Console-script entry point."""
    app(prog_name="darkroom")


if __name__ == "__main__":
    main()
