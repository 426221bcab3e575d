"""Bounded, de-duplicated on-demand rendering for one API process.

At most `concurrency` renders run at once, in a thread pool of that size (never on the
event loop); up to `queue_limit` more wait for a thread, and beyond that requests are
refused with 503 and Retry-After instead of piling up in memory. Identical requests in
flight share one render (single-flight): the second waits for the first's result.

A plain executor rather than anyio's thread helpers: on a render-bound server the event
loop's own CPU is capacity taken from libvips, and the executor hop costs a fraction of
anyio's per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

from darkroom.errors import Overloaded

T = TypeVar("T")


class RenderGate:
    """Admission control, a CPU-sized thread pool and single-flight by key."""

    def __init__(self, concurrency: int, queue_limit: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="render")
        self._capacity = concurrency + queue_limit
        self._admitted = 0
        self._in_flight: dict[str, asyncio.Future[object]] = {}

    @property
    def admitted(self) -> int:
        """Renders running or waiting for a thread."""
        return self._admitted

    async def run(self, key: str, work: Callable[[], T]) -> T:
        """`work()` in a thread, at most once at a time per `key`; Overloaded past the limit."""
        running = self._in_flight.get(key)
        if running is None:
            if self._admitted >= self._capacity:
                raise Overloaded("Too many renders are queued; retry in a moment.", retry_after=1)
            running = asyncio.get_running_loop().run_in_executor(self._pool, work)
            self._admitted += 1
            self._in_flight[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        # A caller that goes away (client disconnect) must not cancel a render that others
        # share, nor release its slot while the thread still works: the bookkeeping happens
        # when the thread is done, not when the caller stops waiting.
        return cast(T, await asyncio.shield(running))

    def _finished(self, key: str, done: asyncio.Future[object]) -> None:
        self._admitted -= 1
        del self._in_flight[key]
        if not done.cancelled():
            done.exception()  # retrieved here when every waiter has gone away

    def close(self) -> None:
        """Stop the threads once the renders already admitted are done."""
        self._pool.shutdown(wait=True)
