"""Local mode of `darkroom batch`: render every input on this machine's cores.

Each input file is one task for a process pool: the worker reads it, renders every
requested profile with the pure imaging core, and writes each output atomically. Tasks
carry only plain data (paths, canonical spec dicts, limits), so they pickle cheaply.
"""

from __future__ import annotations

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

from darkroom.batch.inputs import WRITABLE_EXTENSIONS, Item, Source, State, failed, read_input
from darkroom.imaging import ImageInfo, Limits, TransformSpec, probe, render
from darkroom.imaging.encode import output_format
from darkroom.imaging.formats import TRAITS
from darkroom.settings import usable_cpus
from darkroom.storage.atomic import write_atomically

CRASHED = "the worker process died on this file (out of memory, or killed)"

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
class FileJob:
    """Everything a worker process needs for one input file."""

    path: str
    targets: tuple[Target, ...]
    limits: Limits
    skip_existing: bool


def plan(
    sources: Sequence[Source],
    specs: Mapping[str, TransformSpec],
    out: Path,
    *,
    limits: Limits,
    skip_existing: bool,
) -> list[FileJob]:
    """One job per input, its outputs named under `out`."""
    inputs = {str(source.path) for source in sources}
    jobs = []
    for source in sources:
        targets = []
        for name, spec in specs.items():
            base = str(source.output_base(out, name))
            # The extension is only known once the input is probed (format=original), so
            # every extension an output could take is checked against the inputs.
            candidates = {f"{base}.{ext}" for ext in WRITABLE_EXTENSIONS}
            targets.append(Target(name, spec.canonical(), base, frozenset(candidates & inputs)))
        jobs.append(FileJob(str(source.path), tuple(targets), limits, skip_existing))
    return jobs


def process_file(job: FileJob) -> list[Item]:
    """Read one input and write its output for every profile; reports, never raises."""
    try:
        data = read_input(Path(job.path), job.limits)
        info = probe(data, job.limits)
    except Exception as exc:
        return [failed(job.path, target.profile, exc) for target in job.targets]
    return [_produce(job, data, info, target) for target in job.targets]


def _produce(job: FileJob, data: bytes, info: ImageInfo, target: Target) -> Item:
    try:
        spec = TransformSpec.coerce(target.spec)
        path = f"{target.base}.{TRAITS[output_format(spec.format, info)].extension}"
        if path in target.protected:
            reason = f"the output {path} would replace an input file"
            return Item(job.path, target.profile, State.FAILED, reason, "output_is_input")
        if job.skip_existing and Path(path).exists():
            return Item(job.path, target.profile, State.SKIPPED, "output exists", output=path)
        rendered = render(data, spec, limits=job.limits)
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
        return [
            Item(job.path, t.profile, State.FAILED, CRASHED, "worker_died") for t in job.targets
        ]
    return [failed(job.path, target.profile, exc) for target in job.targets]


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
