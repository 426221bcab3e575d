"""Local mode of `darkroom batch`: render and analyse every input on this machine's cores.

Each input file is one task for a process pool: the worker reads it, renders every
requested profile with the pure imaging core, and writes each output atomically; then it
runs every requested analysis and writes their results as one JSON file. Tasks carry only
plain data (paths, canonical spec dicts, limits, analysis names), so they pickle cheaply;
an analyzer's model loads on its first use in a worker and stays for the process's life.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips

from darkroom.analysis import detections, registry
from darkroom.batch.inputs import WRITABLE_EXTENSIONS, Item, Source, State, failed, read_input
from darkroom.imaging import ImageInfo, Limits, TransformSpec, probe, render
from darkroom.imaging.encode import DEFAULT_ENCODING, Encoding
from darkroom.imaging.formats import TRAITS
from darkroom.imaging.pipeline import output_format_for
from darkroom.settings import Settings, usable_cpus
from darkroom.storage.atomic import write_atomically

CRASHED = "the worker process died on this file (out of memory, or killed)"

SERVICE_ONLY = {
    "logos": "The logos analysis looks for the logos registered in the service's database, "
    "which local mode does not read: run it with --submit.",
}
"""Analyses that need the service's state, and why local mode refuses them."""

Task = Callable[["FileJob"], list[Item]]


@dataclass(frozen=True)
class Target:
    """One output of an input: its profile, spec (canonical dict) and path sans extension."""

    profile: str
    spec: dict[str, Any]
    base: str
    protected: frozenset[str]
    """Input files of this batch that this output must never replace."""


@dataclass(frozen=True)
class Analyses:
    """The analyses of one input and the JSON file they are written to."""

    names: tuple[str, ...]
    path: str
    source: str
    """The input relative to the inputs' common folder, as the JSON names it."""
    options: registry.Options
    protected: bool
    """The JSON file is an input file of this batch, never to be replaced."""


@dataclass(frozen=True)
class FileJob:
    """Everything a worker process needs for one input file."""

    path: str
    targets: tuple[Target, ...]
    limits: Limits
    skip_existing: bool
    analyses: Analyses | None = None
    encoding: Encoding = DEFAULT_ENCODING

    def failed(self, exc: BaseException) -> list[Item]:
        """Every item of this job, failed with `exc`."""
        items = [failed(self.path, target.profile, exc) for target in self.targets]
        return items + [failed(self.path, None, exc, analysis=n) for n in self._analysis_names]

    def crashed(self) -> list[Item]:
        """Every item of this job, failed because its worker process died."""
        return [
            Item(self.path, target.profile, State.FAILED, CRASHED, "worker_died")
            for target in self.targets
        ] + [
            Item(self.path, None, State.FAILED, CRASHED, "worker_died", analysis=name)
            for name in self._analysis_names
        ]

    @property
    def _analysis_names(self) -> tuple[str, ...]:
        return () if self.analyses is None else self.analyses.names


def analysis_options(settings: Settings) -> registry.Options:
    """How the analyzers run, from the settings (model files, NSFW threshold), as the
    service's workers run them."""
    return registry.Options(
        model_paths=dict(settings.analysis_models), nsfw_threshold=settings.nsfw_threshold
    )


def plan(
    sources: Sequence[Source],
    specs: Mapping[str, TransformSpec],
    out: Path,
    *,
    limits: Limits,
    skip_existing: bool,
    analyses: Sequence[str] = (),
    options: registry.Options | None = None,
    encoding: Encoding = DEFAULT_ENCODING,
) -> list[FileJob]:
    """One job per input, its outputs and analyses JSON named under `out`."""
    inputs = {str(source.path) for source in sources}
    names = tuple(dict.fromkeys(analyses))
    jobs = []
    for source in sources:
        targets = []
        for name, spec in specs.items():
            base = str(source.output_base(out, name))
            # The extension is only known once the input is probed (format=original), so
            # every extension an output could take is checked against the inputs.
            candidates = {f"{base}.{ext}" for ext in WRITABLE_EXTENSIONS}
            targets.append(Target(name, spec.canonical(), base, frozenset(candidates & inputs)))
        wanted = None
        if names:
            path = str(source.analyses_path(out))
            wanted = Analyses(
                names, path, source.source, options or registry.Options(), path in inputs
            )
        jobs.append(
            FileJob(str(source.path), tuple(targets), limits, skip_existing, wanted, encoding)
        )
    return jobs


def process_file(job: FileJob) -> list[Item]:
    """Read one input, write its output for every profile, then its analyses; reports,
    never raises."""
    try:
        data = read_input(Path(job.path), job.limits)
        info = probe(data, job.limits)
    except Exception as exc:
        if job.analyses is None:
            return job.failed(exc)
        # The analyses JSON still records why, for each analysis.
        return [failed(job.path, t.profile, exc) for t in job.targets] + _analyse(
            job, job.analyses, None, exc
        )
    items = [_produce(job, data, info, target) for target in job.targets]
    if job.analyses is not None:
        items += _analyse(job, job.analyses, data, None)
    return items


def _produce(job: FileJob, data: bytes, info: ImageInfo, target: Target) -> Item:
    try:
        spec = TransformSpec.coerce(target.spec)
        fmt = output_format_for(
            spec, info.format, None, has_alpha=info.has_alpha, animated=info.animated
        )
        path = f"{target.base}.{TRAITS[fmt].extension}"
        if path in target.protected:
            reason = f"the output {path} would replace an input file"
            return Item(job.path, target.profile, State.FAILED, reason, "output_is_input")
        if job.skip_existing and Path(path).exists():
            return Item(job.path, target.profile, State.SKIPPED, "output exists", output=path)
        seen = detections.render_inputs(spec, data, limits=job.limits)
        rendered = render(data, spec, limits=job.limits, encoding=job.encoding, **seen)
        write_atomically(Path(path), (rendered.data,))
    except Exception as exc:
        return failed(job.path, target.profile, exc)
    return Item(
        job.path,
        target.profile,
        State.DONE,
        output=path,
        width=rendered.width,
        height=rendered.height,
        format=rendered.format.value,
    )


def _analyse(
    job: FileJob, analyses: Analyses, data: bytes | None, unreadable: Exception | None
) -> list[Item]:
    """Run the analyses on `data` (or fail each with `unreadable`) and write the JSON.

    The JSON keeps what an earlier run recorded for analyses not asked for this time; with
    `skip_existing`, an analysis it already holds a result of is skipped, and when every
    one is, the file is left alone.
    """
    path = analyses.path
    if analyses.protected:
        reason = f"the output {path} would replace an input file"
        return [
            Item(job.path, None, State.FAILED, reason, "output_is_input", analysis=name)
            for name in analyses.names
        ]
    entries = _read_analyses(Path(path))
    items: dict[str, Item] = {}
    for name in analyses.names:
        if job.skip_existing and "result" in entries.get(name, {}):
            items[name] = Item(
                job.path, None, State.SKIPPED, "result exists", output=path, analysis=name
            )
    if len(items) == len(analyses.names):
        return list(items.values())
    for name in analyses.names:
        if name not in items:
            entries[name], items[name] = _analysis(job, analyses, name, data, unreadable)
    items = {name: items[name] for name in analyses.names}
    document = {"source": analyses.source, "analyses": dict(sorted(entries.items()))}
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        write_atomically(Path(path), (text.encode("utf-8"),))
    except Exception as exc:
        return [
            item if item.state is State.SKIPPED else failed(job.path, None, exc, analysis=name)
            for name, item in items.items()
        ]
    return list(items.values())


def _analysis(
    job: FileJob, analyses: Analyses, name: str, data: bytes | None, unreadable: Exception | None
) -> tuple[dict[str, Any], Item]:
    """The JSON entry and the item of one analysis of the input."""
    try:
        if data is None:
            raise unreadable or ValueError("no image data")
        result, model = registry.run(name, data, analyses.options, limits=job.limits)
    except Exception as exc:
        item = failed(job.path, None, exc, output=analyses.path, analysis=name)
        return {"error": {"code": item.code, "message": item.reason}}, item
    entry = {"result": result, "model": {"name": model.name, "version": model.version}}
    return entry, Item(job.path, None, State.DONE, output=analyses.path, analysis=name)


def _read_analyses(path: Path) -> dict[str, Any]:
    """The analyses an earlier run wrote to `path`; none if it is missing or unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = document.get("analyses") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {str(k): v for k, v in entries.items() if isinstance(v, dict)}


def run(
    jobs: Sequence[FileJob],
    workers: int,
    on_done: Callable[[list[Item]], None],
    task: Task = process_file,
) -> None:
    """Run every job on up to `workers` processes; a process that dies fails only its file.

    When a worker dies (a libvips crash, the OOM killer), the pool breaks and every job
    in flight is a suspect: each is run again alone, so only the culprit is reported.
    """
    pending = deque(jobs)
    workers = max(1, min(workers, len(jobs)))
    while pending:
        for suspect in _run_pool(pending, workers, on_done, task):
            on_done(_run_alone(suspect, task))


def _run_pool(
    pending: deque[FileJob], workers: int, on_done: Callable[[list[Item]], None], task: Task
) -> list[FileJob]:
    """Run jobs from `pending` until it is empty or the pool breaks; then the jobs in flight."""
    running: dict[Future[list[Item]], FileJob] = {}
    pool = _executor(workers)
    try:
        while pending or running:
            # A short queue per worker keeps every core busy without reading ahead the
            # whole folder, and bounds the suspects of a crash.
            while pending and len(running) < 2 * workers:
                job = pending.popleft()
                try:
                    running[pool.submit(task, job)] = job
                except BrokenProcessPool:
                    pending.appendleft(job)
                    return list(running.values())
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                finished = [f for f in running if f.done() and f.exception() is None]
                for future in finished:
                    on_done(future.result())
                return [job for f, job in running.items() if f not in finished]
            for future in done:
                on_done(_outcome(future, running.pop(future)))
        return []
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(future: Future[list[Item]], job: FileJob) -> list[Item]:
    # `process_file` reports its own failures; this catches what happens around it (a
    # result that cannot be pickled back, say) so that it too fails only this file.
    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, BrokenProcessPool):
        return job.crashed()
    return job.failed(exc)


def _run_alone(job: FileJob, task: Task) -> list[Item]:
    pool = _executor(1)
    try:
        return _outcome(pool.submit(task, job), job)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _executor(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: a forked child would inherit libvips' thread pool and any lock a
    # thread of ours held at that instant, and deadlock on it.
    vips_threads = max(1, usable_cpus() // workers)
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(vips_threads,),
    )


def _init_worker(vips_threads: int) -> None:
    # Ctrl-C is the parent's to handle: it cancels what is queued and lets running files
    # finish, instead of every worker printing its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One libvips thread pool per process, sized so the processes together fill the cores.
    pyvips.concurrency_set(vips_threads)
