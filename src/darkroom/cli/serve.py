"""The commands that run Darkroom: `serve`, `api`, `worker` and `migrate`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from darkroom.cli.common import load, or_exit, settings_epilog

if TYPE_CHECKING:
    from darkroom.service.context import Context
    from darkroom.settings import Settings

Insecure = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Serve without API keys on a non-loopback address (anyone who reaches it may "
        "do anything). Without it, no key and a non-loopback --host refuse to start.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the service commands to the `darkroom` app."""
    epilog = settings_epilog()
    app.command(epilog=epilog)(serve)
    app.command(epilog=epilog)(api)
    app.command(epilog=epilog)(worker)
    app.command()(migrate)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (DARKROOM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (DARKROOM_PORT).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Transform threads (DARKROOM_WORKERS; default: cores).")
    ] = None,
    insecure: Insecure = False,
) -> None:
    """Run the API, the workers and the reconciler in one process (SQLite + local folder)."""
    from darkroom.runtime.allocator import tune_allocator
    from darkroom.runtime.embedded import Embedded
    from darkroom.runtime.http import serve_http

    settings = load(host=host, port=port, workers=workers)
    tune_allocator()
    runtime = or_exit(lambda: Embedded(settings))
    _check_open_access(runtime.ctx, settings, insecure, runtime.wired.close)
    serve_http(runtime.app(), settings)


def api(
    host: Annotated[str | None, typer.Option(help="Address to bind (DARKROOM_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (DARKROOM_PORT).")] = None,
    insecure: Insecure = False,
) -> None:
    """Run the HTTP API only; the work goes through the broker to `darkroom worker`s."""
    from darkroom.runtime.allocator import tune_allocator
    from darkroom.runtime.http import api_app, api_wiring, serve_http

    settings = load(host=host, port=port)
    tune_allocator()
    wired = or_exit(lambda: api_wiring(settings))
    _check_open_access(wired.ctx, settings, insecure, wired.close)
    serve_http(api_app(settings, wired), settings)


def _check_open_access(
    ctx: Context, settings: Settings, insecure: bool, close: Callable[[], None]
) -> None:
    """Exit 2 (after `close`) when the API would start open on a non-loopback address."""
    from darkroom.runtime.http import open_access_refusal

    try:
        refusal = or_exit(lambda: open_access_refusal(ctx, settings, insecure=insecure))
    except BaseException:
        close()
        raise
    if refusal is not None:
        close()
        typer.echo(f"error: {refusal}", err=True)
        raise typer.Exit(2)


def worker(
    queues: Annotated[
        str,
        typer.Option(
            help="Comma-separated queues to consume: dispatch, transform, analyze.<name> "
            "(colors, faces, labels, logos, nsfw, ocr), or all: dispatch, transform and every "
            "analyzer whose extra is installed."
        ),
    ] = "all",
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
    from darkroom.runtime.allocator import tune_allocator
    from darkroom.runtime.worker import WorkerProcess, run_worker_processes

    if processes > 1:
        argv = ["worker", "--queues", queues] + (["--threads", str(threads)] if threads else [])
        raise typer.Exit(run_worker_processes(argv, processes, metrics_port))
    settings = load(workers=threads)
    tune_allocator()
    names = [q.strip() for q in queues.split(",") if q.strip()]
    process = or_exit(lambda: WorkerProcess(settings, names, settings.workers))
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=settings.host, registry=process.ctx.registry)
    process.run()


def migrate() -> None:
    """Create or upgrade the database schema (alembic upgrade head)."""
    from darkroom.runtime.wiring import migrate as migrate_database

    settings = load()
    or_exit(lambda: migrate_database(settings))
    typer.echo("database is up to date")
