"""Resident memory of `darkroom serve` through a burst of uploads and the idle time after it.

Usage: python -m bench.memory [--uploads 300] [--idle 90] [--modes before,trim-only,after]
                              [--realworld]

For each mode a fresh `darkroom serve` (SQLite, local folder, one transform thread per
core) takes `--uploads` uploads of the corpus files the manifest accepts, in turn, each
for the three default profiles, from 4 client threads; the bench waits until every image
is done or failed, then leaves the service idle for `--idle` seconds. `--realworld` mixes in
every file of tests/fixtures/realworld (567 third-party files, refusals included: they are
real-world uploads too, and counted as such). VmRSS is read from
/proc/<pid>/status every 0.25 s; the peak is VmHWM. Prints Markdown.

Modes: `after` is the service as it ships (idle trimmer, `ARENA_MAX` arenas); `trim-only`
has the idle trimmer but glibc's default arena count (8 per core, set through
MALLOC_ARENA_MAX, which the service then leaves alone); `before` has neither, the
allocator as it was before the idle trimmer (`idle_trimmer` replaced by nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import serving
from darkroom.settings import usable_cpus

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus"
REALWORLD = FIXTURES / "realworld"
PROFILES = "thumb_200,webp_800,avatar"
MiB = 1024**2

NO_TRIM = """
import darkroom.runtime.allocator as allocator
allocator.idle_trimmer = lambda *args, **kwargs: None
from darkroom.cli import main
main()
"""
"""`python -m darkroom` with the idle trimmer taken out (before `serve` imports it)."""


def corpus() -> list[tuple[str, bytes]]:
    """The corpus files the manifest says are accepted and rendered, with their bytes."""
    rows = json.loads((CORPUS / "manifest.json").read_text())
    return [
        (row["file"], (CORPUS / row["file"]).read_bytes())
        for row in rows
        if row["expected"] == "ok"
    ]


def realworld() -> list[tuple[str, bytes]]:
    """Every file of the real-world corpus, accepted or not, with its bytes."""
    names = sorted(json.loads((REALWORLD / "expected.json").read_text()))
    return [(name, (REALWORLD / name).read_bytes()) for name in names]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid: int, field_name: str) -> int:
    """A `VmRSS:`-style field of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise KeyError(field_name)


@dataclass
class Sampler:
    """Reads the process's VmRSS every `period` seconds in a thread."""

    pid: int
    period: float = 0.25
    samples: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.samples.append((time.monotonic(), status_kib(self.pid, "VmRSS")))
            except (OSError, KeyError):
                return

    @contextmanager
    def running(self) -> Iterator[Sampler]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def at(self, moment: float) -> int:
        """The last reading at or before `moment`, in KiB."""
        earlier = [kib for at, kib in self.samples if at <= moment]
        return earlier[-1] if earlier else self.samples[0][1]


@dataclass(frozen=True)
class Mode:
    trim: bool
    default_arenas: bool


MODES = {
    "before": Mode(trim=False, default_arenas=True),
    "trim-only": Mode(trim=True, default_arenas=True),
    "after": Mode(trim=True, default_arenas=False),
}


def serve(root: Path, port: int, mode: Mode) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """The service in `mode`: with or without the idle trimmer, shared or default arenas."""
    env = {}
    if mode.default_arenas:
        # glibc's own default on 64-bit: 8 arenas per core.
        env["MALLOC_ARENA_MAX"] = str(8 * (os.cpu_count() or 1))
    command = ("-m", "darkroom", "serve") if mode.trim else ("-c", NO_TRIM, "serve")
    return serving.serve(root, port, workers=usable_cpus(), env=env, command=command)


def burst(base: str, files: list[tuple[str, bytes]], uploads: int) -> dict[str, int]:
    """Upload `uploads` files (cycling through `files`) and wait for all; variant outcomes."""
    with httpx.Client(base_url=base, timeout=120) as http:

        def upload(i: int) -> str | int:
            name, data = files[i % len(files)]
            response = http.post(
                "/v1/images", files={"file": (Path(name).name, data)}, data={"profiles": PROFILES}
            )
            if response.status_code >= 500:
                response.raise_for_status()
            if response.status_code >= 400:
                return response.status_code
            image_id: str = response.json()["id"]
            return image_id

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(upload, range(uploads)))
        outcomes: dict[str, int] = {}
        for refused in (a for a in answers if isinstance(a, int)):
            outcomes[f"uploads refused {refused}"] = (
                outcomes.get(f"uploads refused {refused}", 0) + 1
            )
        for image_id in (a for a in answers if isinstance(a, str)):
            while True:
                image: dict[str, Any] = http.get(f"/v1/images/{image_id}").json()
                if image["status"] in ("done", "failed"):
                    break
                time.sleep(0.2)
            for variant in image["variants"]:
                outcomes[variant["status"]] = outcomes.get(variant["status"], 0) + 1
        return outcomes


@dataclass(frozen=True)
class Run:
    mode: str
    seconds: float
    cpu: float
    """CPU seconds the service used for the burst."""
    outcomes: dict[str, int]
    baseline: int
    peak: int
    end_of_burst: int
    idle: dict[int, int]
    """VmRSS (KiB) this many seconds into the idle time."""


def run(mode: str, uploads: int, idle: int, port: int, files: list[tuple[str, bytes]]) -> Run:
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), port, MODES[mode]) as child:
        base = f"http://127.0.0.1:{port}"
        time.sleep(2)  # start-up settles (the first sweep, the first trim window)
        baseline = status_kib(child.pid, "VmRSS")
        with Sampler(child.pid).running() as sampler:
            started, cpu_started = time.monotonic(), cpu_seconds(child.pid)
            outcomes = burst(base, files, uploads)
            ended, cpu_ended = time.monotonic(), cpu_seconds(child.pid)
            time.sleep(idle)
        peak = status_kib(child.pid, "VmHWM")
    marks = sorted({10, 30, 60, idle} - {m for m in (10, 30, 60) if m > idle})
    return Run(
        mode,
        ended - started,
        cpu_ended - cpu_started,
        outcomes,
        baseline,
        peak,
        sampler.at(ended),
        {mark: sampler.at(ended + mark) for mark in marks},
    )


def main() -> None:
    """Run each mode once and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uploads", type=int, default=300)
    parser.add_argument("--idle", type=int, default=90, help="seconds idle after the burst")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--port", type=int, default=18091)
    parser.add_argument("--realworld", action="store_true", help="mix in the real-world files")
    args = parser.parse_args()
    files = corpus() + (realworld() if args.realworld else [])
    random.Random(7).shuffle(files)  # formats mixed through the burst, the same each run
    runs = [run(mode, args.uploads, args.idle, args.port, files) for mode in args.modes.split(",")]
    marks = sorted({mark for r in runs for mark in r.idle})
    print(
        "| mode | burst s | CPU s | variants | baseline MiB | peak (VmHWM) MiB "
        "| end of burst MiB | " + " | ".join(f"idle {mark} s MiB" for mark in marks) + " |"
    )
    print("|---|---:|---:|---|---:|---:|---:|" + "---:|" * len(marks))
    for r in runs:
        outcomes = ", ".join(f"{n} {status}" for status, n in sorted(r.outcomes.items()))
        cells = [
            r.mode,
            f"{r.seconds:.0f}",
            f"{r.cpu:.0f}",
            outcomes,
            f"{r.baseline / 1024:.0f}",
            f"{r.peak / 1024:.0f}",
            f"{r.end_of_burst / 1024:.0f}",
            *(f"{r.idle[mark] / 1024:.0f}" for mark in marks),
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
