"""glibc's malloc, tuned for a process that renders images all day.

By default glibc hands freed memory back to the kernel as soon as the top of a heap holds
more than a little of it (and serves big blocks with fresh mmaps), so every render of a
busy server faults the same megabytes back in and has them zeroed again: on 2 cores that
was ~1 ms of kernel time per small render, about 6% of it. Keeping freed memory for the
next render holds the process near its peak working set instead, which is what a server
sized for its peak load has anyway.

Deployments that set MALLOC_TRIM_THRESHOLD_ or MALLOC_MMAP_THRESHOLD_ themselves keep
their values; other C libraries (musl) are left alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 256 * 1024**2
MMAP_THRESHOLD_BYTES = 32 * 1024**2
"""glibc's largest dynamic mmap threshold on 64-bit: bigger blocks still get their own map."""
OVERRIDES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


def tune_allocator() -> bool:
    """Apply the thresholds above to this process; whether they were applied."""
    if not sys.platform.startswith("linux") or any(name in os.environ for name in OVERRIDES):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False  # not glibc
    mallopt = getattr(libc, "mallopt", None)
    gnu_get_libc_version = getattr(libc, "gnu_get_libc_version", None)
    if mallopt is None or gnu_get_libc_version is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
