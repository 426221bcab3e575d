"""The `darkroom batch` command: options, progress bar and summary over `darkroom.batch`.

Exit status: 0 when every output was produced (or skipped), 1 when any failed, 2 when
the batch could not start (bad options or settings, nothing matched, unknown profile).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from darkroom.batch.inputs import Inputs, Item, Summary, find_inputs
from darkroom.errors import DarkroomError
from darkroom.imaging import TransformSpec
from darkroom.runtime.logs import configure_logging
from darkroom.settings import Settings, load_settings

DEFAULT_TIMEOUT = 3600.0
POLL_INTERVAL = 0.5


def register(app: typer.Typer) -> None:
    """Add the `batch` command to a typer app (the `darkroom` CLI)."""
    app.command(
        name="batch",
        epilog="Exit status: 0 all done (or skipped), 1 some failed, 2 the batch could not start.",
    )(batch)


def batch(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders (searched recursively, images found by their content) or "
            "glob patterns such as 'photos/**/*.jpg' (quote them; ** recurses).",
            metavar="PATH_OR_GLOB",
            show_default=False,
        ),
    ],
    profile: Annotated[
        list[str],
        typer.Option("--profile", "-p", help="Profile to produce; repeat for several."),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            file_okay=False,
            help="Output folder; outputs are named {stem}-{profile}.{ext} and mirror the "
            "input folders. Required unless --submit.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Parallel processes (default: usable cores)."),
    ] = None,
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing", help="Leave outputs that already exist alone.")
    ] = False,
    submit: Annotated[
        bool,
        typer.Option(
            "--submit",
            help="Upload to the cluster (DARKROOM_BROKER_URL, DARKROOM_DATABASE_URL, "
            "DARKROOM_STORAGE_URL) instead of rendering here, and follow the variants.",
        ),
    ] = False,
    owner_id: Annotated[
        str | None, typer.Option("--owner-id", help="With --submit: owner of the images.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            min=0, help=f"With --submit: seconds to follow progress (default {DEFAULT_TIMEOUT:g})."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON on stdout.")
    ] = False,
) -> None:
    """Render images with profiles on this machine's cores, or submit them to the cluster."""
    if submit and (out is not None or jobs is not None or skip_existing):
        _fail(
            "--out, --jobs and --skip-existing apply to local mode: with --submit the "
            "cluster's workers render and store the variants."
        )
    if not submit and (owner_id is not None or timeout is not None):
        _fail("--owner-id and --timeout apply to --submit only.")
    if not submit and out is None:
        _fail("Missing option '--out' (the output folder), or use --submit.")
    names = list(dict.fromkeys(profile))
    settings = _settings()
    console = Console(stderr=True)
    try:
        output = out.resolve() if out is not None else None
        inputs = find_inputs(paths, settings.limits(), exclude=output)
    except DarkroomError as exc:
        _fail(exc.message)
    summary = Summary("submit" if submit else "local", len(inputs.sources) + len(inputs.skipped))
    summary.extend(inputs.skipped)
    with _progress(console, quiet) as progress:
        if output is None:
            _submit(settings, inputs, names, owner_id, timeout, summary, progress)
        else:
            _local(settings, inputs, names, output, jobs, skip_existing, summary, progress)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
    else:
        for line in summary.lines():
            typer.echo(line)
    raise typer.Exit(summary.exit_code)


def _local(
    settings: Settings,
    inputs: Inputs,
    names: list[str],
    out: Path,
    jobs: int | None,
    skip_existing: bool,
    summary: Summary,
    progress: Progress,
) -> None:
    from darkroom.batch.local import plan, run
    from darkroom.settings import usable_cpus

    specs = _profiles(settings, names)
    planned = plan(
        inputs.sources, specs, out, limits=settings.limits(), skip_existing=skip_existing
    )
    task = progress.add_task("rendering", total=len(planned))
    run(planned, jobs or usable_cpus(), _advance(summary, progress, task))


def _profiles(settings: Settings, names: list[str]) -> dict[str, TransformSpec]:
    """The named specs from the database (migrated, with the defaults on a fresh one)."""
    from darkroom.runtime.wiring import open_context
    from darkroom.service import profiles

    try:
        ctx = open_context(settings)
    except DarkroomError as exc:
        _fail(exc.message)
    try:
        return profiles.resolve(ctx, names)
    except DarkroomError as exc:
        _fail(exc.message)
    finally:
        # Before the worker processes start: they need no database connection.
        ctx.engine.dispose()


def _submit(
    settings: Settings,
    inputs: Inputs,
    names: list[str],
    owner_id: str | None,
    timeout: float | None,
    summary: Summary,
    progress: Progress,
) -> None:
    from darkroom.batch.submit import SHARED_BROKER, follow, submit
    from darkroom.runtime.wiring import wire
    from darkroom.service import profiles

    try:
        wired = wire(settings, shared_broker=SHARED_BROKER)
    except DarkroomError as exc:
        _fail(exc.message)
    ctx = wired.ctx
    try:
        try:
            profiles.resolve(ctx, names)  # before any upload: all or nothing
        except DarkroomError as exc:
            _fail(exc.message)
        uploading = progress.add_task("uploading", total=len(inputs.sources))
        rendering = progress.add_task("rendering", total=len(inputs.sources) * len(names))
        on_done = _advance(summary, progress, rendering)

        def on_uploaded(items: list[Item]) -> None:
            progress.advance(uploading)
            if items:
                on_done(items)

        submitted = submit(ctx, inputs.sources, names, owner_id=owner_id, on_uploaded=on_uploaded)
        limit = DEFAULT_TIMEOUT if timeout is None else timeout
        follow(ctx, submitted, timeout=limit, poll_interval=POLL_INTERVAL, on_done=on_done)
    finally:
        wired.close()


def _advance(summary: Summary, progress: Progress, task: TaskID) -> Callable[[list[Item]], None]:
    def on_done(items: list[Item]) -> None:
        summary.extend(items)
        # Local tasks are files; submit tasks are variants, one item each.
        progress.advance(task, 1 if summary.mode == "local" else len(items))

    return on_done


@contextmanager
def _progress(console: Console, quiet: bool) -> Iterator[Progress]:
    # Only on a terminal: in a pipe or a log file, redrawn bars are noise.
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    ) as progress:
        yield progress


def _settings() -> Settings:
    try:
        settings = load_settings()
    except DarkroomError as exc:
        _fail(exc.message)
    # Warnings only: info lines would tear the progress bar and add nothing to the summary.
    level = "warning" if settings.log_level in ("info", "debug") else settings.log_level
    configure_logging(level, settings.log_format)
    return settings


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
