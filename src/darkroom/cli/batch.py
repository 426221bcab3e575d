"""The `darkroom batch` command: options, progress bar and summary over `darkroom.batch`.

Exit status: 0 when every output and analysis was produced (or skipped), 1 when any
failed, 2 when the batch could not start (bad options or settings, nothing matched,
unknown profile or analysis, an analysis whose extra is not installed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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

from darkroom.analysis import registry
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
        list[str] | None,
        typer.Option(
            "--profile",
            "-p",
            help="Profile to produce; repeat for several. Optional when --analyses is given.",
        ),
    ] = None,
    analysis: Annotated[
        list[str] | None,
        typer.Option(
            "--analyses",
            "-a",
            metavar="NAMES",
            help=f"Analyses to run, comma-separated or repeated ({', '.join(registry.ANALYSES)}). "
            "Locally each input's results go to {stem}.analyses.json beside its outputs; "
            "with --submit, left out means the deployment's DARKROOM_DEFAULT_ANALYSES.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            file_okay=False,
            help="Output folder; outputs are named {stem}-{profile}.{ext} (analyses "
            "{stem}.analyses.json) and mirror the input folders. Required unless --submit.",
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Parallel processes (default: usable cores)."),
    ] = None,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing",
            help="Leave outputs that already exist alone, and analyses whose JSON holds "
            "their result.",
        ),
    ] = False,
    submit: Annotated[
        bool,
        typer.Option(
            "--submit",
            help="Upload to the cluster (DARKROOM_BROKER_URL, DARKROOM_DATABASE_URL, "
            "DARKROOM_STORAGE_URL) instead of rendering here, and follow the variants "
            "and analyses.",
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
    """Render and analyse images on this machine's cores, or submit them to the cluster."""
    names = list(dict.fromkeys(profile or []))
    wanted = None if analysis is None else _analysis_names(analysis)
    if not names and not wanted:
        _fail(
            "Nothing to do: name at least one profile (--profile/-p) or analysis "
            f"(--analyses/-a {','.join(registry.ANALYSES)})."
        )
    if submit and (out is not None or jobs is not None or skip_existing):
        _fail(
            "--out, --jobs and --skip-existing apply to local mode: with --submit the "
            "cluster's workers render and store the variants."
        )
    if not submit and (owner_id is not None or timeout is not None):
        _fail("--owner-id and --timeout apply to --submit only.")
    if not submit and out is None:
        _fail("Missing option '--out' (the output folder), or use --submit.")
    settings = _settings()
    options = _check_analyses(settings, wanted or [], local=not submit)
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
            _submit(settings, inputs, names, wanted, owner_id, timeout, summary, progress)
        else:
            work = Work(names, wanted or [], options)
            _local(settings, inputs, work, output, jobs, skip_existing, summary, progress)
    if as_json:
        typer.echo(json.dumps(summary.to_json(), indent=2))
    else:
        for line in summary.lines():
            typer.echo(line)
    raise typer.Exit(summary.exit_code)


def _analysis_names(values: list[str]) -> list[str]:
    """`--analyses a,b -a c`: the names, deduplicated in order; empty values name none."""
    split = (name.strip() for value in values for name in value.split(","))
    return list(dict.fromkeys(name for name in split if name))


def _check_analyses(settings: Settings, names: list[str], *, local: bool) -> registry.Options:
    """How the analyzers run; exit 2 on an unknown analysis or one whose extra is missing."""
    from darkroom.batch.local import SERVICE_ONLY, analysis_options

    options = analysis_options(settings)
    for name in names:
        try:
            registry.check_installed(name, options)
        except DarkroomError as exc:
            _fail(exc.message)
        if local and name in SERVICE_ONLY:
            _fail(SERVICE_ONLY[name])
    return options


@dataclass(frozen=True)
class Work:
    """What local mode does to each input: profiles to render, analyses to run."""

    profiles: list[str]
    analyses: list[str]
    options: registry.Options


def _local(
    settings: Settings,
    inputs: Inputs,
    work: Work,
    out: Path,
    jobs: int | None,
    skip_existing: bool,
    summary: Summary,
    progress: Progress,
) -> None:
    from darkroom.batch.local import plan, run
    from darkroom.settings import usable_cpus

    # Analyses alone need no database: profiles are the only thing read from it.
    specs = _profiles(settings, work.profiles) if work.profiles else {}
    planned = plan(
        inputs.sources,
        specs,
        out,
        limits=settings.limits(),
        encoding=settings.encoding(),
        skip_existing=skip_existing,
        analyses=work.analyses,
        options=work.options,
    )
    description = "analysing" if not specs else "rendering"
    task = progress.add_task(description, total=len(planned))
    run(planned, jobs or usable_cpus(), _advance(summary, progress, task, task))


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
    analysis_names: list[str] | None,
    owner_id: str | None,
    timeout: float | None,
    summary: Summary,
    progress: Progress,
) -> None:
    from darkroom.batch.submit import SHARED_BROKER, follow, submit
    from darkroom.runtime.wiring import wire
    from darkroom.service import analyses, profiles

    try:
        wired = wire(settings, shared_broker=SHARED_BROKER)
    except DarkroomError as exc:
        _fail(exc.message)
    ctx = wired.ctx
    try:
        try:
            # Before any upload: all or nothing. No --analyses: the deployment's defaults.
            profiles.resolve(ctx, names)
            wanted = list(analyses.resolve(ctx, analysis_names))
        except DarkroomError as exc:
            _fail(exc.message)
        files = len(inputs.sources)
        uploading = progress.add_task("uploading", total=files)
        rendering = progress.add_task("rendering", total=files * len(names), visible=bool(names))
        analysing = progress.add_task("analysing", total=files * len(wanted), visible=bool(wanted))
        on_done = _advance(summary, progress, rendering, analysing)

        def on_uploaded(items: list[Item]) -> None:
            progress.advance(uploading)
            if items:
                on_done(items)

        submitted = submit(
            ctx,
            inputs.sources,
            names,
            owner_id=owner_id,
            on_uploaded=on_uploaded,
            analyses=wanted,
        )
        limit = DEFAULT_TIMEOUT if timeout is None else timeout
        follow(ctx, submitted, timeout=limit, poll_interval=POLL_INTERVAL, on_done=on_done)
    finally:
        wired.close()


def _advance(
    summary: Summary, progress: Progress, rendering: TaskID, analysing: TaskID
) -> Callable[[list[Item]], None]:
    def on_done(items: list[Item]) -> None:
        summary.extend(items)
        if summary.mode == "local":  # local tasks are files, all of whose items come at once
            progress.advance(rendering)
            return
        # Submit tasks are variants and analyses, one item each.
        analysed = sum(1 for item in items if item.analysis is not None)
        progress.advance(rendering, len(items) - analysed)
        progress.advance(analysing, analysed)

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
