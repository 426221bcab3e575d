"""glibc's malloc, tuned for a process that renders images all day.

By default glibc hands freed memory back to the kernel as soon as the top of a heap holds
more than a little of it (and serves big blocks with fresh mmaps), so every render of a
busy server faults the same megabytes back in and has them zeroed again: on 2 cores that
was ~1 ms of kernel time per small render, about 6% of it. Keeping freed memory for the
next render holds the process near its peak working set instead, which is what a server
sized for its peak load has anyway.

What a burst kept is handed back once the process goes idle: `IdleTrimmer` calls glibc's
`malloc_trim(0)` after a window in which the process used next to no CPU, once per burst
(imgproxy frees memory on a timer the same way). A busy process keeps its memory, so the
tuning above still saves the kernel time; an idle one shrinks back toward its baseline.

For that, threads share `ARENA_MAX` arenas instead of glibc's 8 per core: `malloc_trim`
releases the free pages inside every arena, but the free space at the top of a thread's
own arena only when that thread frees a block past the trim threshold, which with the
tuning above never happens, so each of up to 16 arenas kept what its thread last used.
After a burst of 300 uploads (`bench/memory.py`, docs/benchmarks.md) `serve` settled at
516 MiB with the trim alone and at 154-167 MiB with shared arenas too; fewer arenas also
halve the peak (free memory in one arena is reused by the other threads).

Deployments that set MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_ or MALLOC_ARENA_MAX
themselves keep their values; other C libraries (musl) are left alone.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
from collections.abc import Callable

from darkroom.queue.periodic import Periodic

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 256 * 1024**2
MMAP_THRESHOLD_BYTES = 32 * 1024**2
"""glibc's largest dynamic mmap threshold on 64-bit: bigger blocks still get their own map."""
OVERRIDES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
M_ARENA_MAX = -8
ARENA_MAX = 2
"""Arenas the threads share (imgproxy's advice for libvips): main, and one for the rest."""
ARENA_OVERRIDE = "MALLOC_ARENA_MAX"
TRIM_INTERVAL_SECONDS = 30.0
"""Length of the window the process must stay idle in before memory is handed back."""
IDLE_CPU_FRACTION = 0.02
"""Idle: the whole process used under 2% of one core in the window (the reconciler, the
outbox and the consumers' polling use a fraction of that; one transform uses more)."""


def _glibc() -> ctypes.CDLL | None:
    """glibc, if this process runs on it (Linux with glibc, not musl), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc
    if getattr(libc, "gnu_get_libc_version", None) is None:
        return None
    return libc


def tune_allocator() -> bool:
    """Apply the thresholds and the arena limit above to this process, each unless the
    deployment set its own; whether the thresholds were applied.

    Call it at start, before threads are started: an arena, once a thread has it, stays.
    """
    libc = _glibc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if ARENA_OVERRIDE not in os.environ:
        mallopt(M_ARENA_MAX, ARENA_MAX)
    if any(name in os.environ for name in OVERRIDES):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def malloc_trim() -> Callable[[], bool] | None:
    """glibc's `malloc_trim(0)` (hands every free page of every arena back to the kernel,
    answering whether any was), or None off glibc."""
    libc = _glibc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int

    def call() -> bool:
        return bool(trim(0))

    return call


class IdleTrimmer:
    """Decides, window by window, when to trim: after activity, once the process is idle.

    Idle means the process's CPU time grew by less than `idle_cpu_fraction` of the window:
    no transform or render ran. One trim follows each busy spell; an idle process is not
    trimmed again and again, and a busy one is never trimmed.
    """

    def __init__(
        self,
        trim: Callable[[], bool],
        *,
        interval: float = TRIM_INTERVAL_SECONDS,
        idle_cpu_fraction: float = IDLE_CPU_FRACTION,
        cpu_time: Callable[[], float] = time.process_time,
    ) -> None:
        self.interval = interval
        self._trim = trim
        self._idle_cpu = interval * idle_cpu_fraction
        self._cpu_time = cpu_time
        self._last_cpu = cpu_time()
        self._busy = True  # start-up (imports, migrations) counts as a burst
        self.trims = 0

    def step(self) -> int:
        """One window: trim if it was idle and some work came before it; 1 if trimmed."""
        cpu = self._cpu_time()
        used, self._last_cpu = cpu - self._last_cpu, cpu
        if used >= self._idle_cpu:
            self._busy = True
            return 0
        if not self._busy:
            return 0
        self._busy = False
        released = self._trim()
        self.trims += 1
        log.debug("idle: malloc_trim(0) %s", "released memory" if released else "found none")
        return 1

    def periodic(self) -> Periodic:
        """A thread running `step` every window."""
        return Periodic("malloc-trim", self.interval, self.step)


def idle_trimmer(interval: float = TRIM_INTERVAL_SECONDS) -> Periodic | None:
    """The thread that trims this process's heap when it goes idle; None off glibc."""
    trim = malloc_trim()
    if trim is None:
        return None
    return IdleTrimmer(trim, interval=interval).periodic()
