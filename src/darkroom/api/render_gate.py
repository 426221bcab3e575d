"""Bounded, de-duplicated on-demand rendering for one API process, in two lanes.

At most `concurrency` renders run at once, in a thread pool of that size (never on the
event loop); up to `queue_limit` more wait for a thread, and beyond that requests are
refused with 503 and Retry-After instead of piling up in memory. Identical requests in
flight share one render (single-flight): the second waits for the first's result.

Work that turns out to be heavy (the plan says so, from the header and the spec) moves
to a lane of its own with `heavy_concurrency` threads: a burst of 100 MP renders or big
blurs then waits there, while thumbnails keep the main lane and finish in milliseconds.
Cheap work stays one thread hop; only heavy work pays a second.

A plain executor rather than anyio's thread helpers: on a render-bound server the event
loop's own CPU is capacity taken from libvips, and the executor hop costs a fraction of
anyio's per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from darkroom.errors import Overloaded

T = TypeVar("T")


@dataclass(frozen=True)
class Heavy(Generic[T]):
    """Returned by a render's first step: the rest is heavy and belongs in the heavy lane."""

    rest: Callable[[], T]


class RenderGate:
    """Admission control, a main and a heavy lane of threads, and single-flight by key."""

    def __init__(self, concurrency: int, queue_limit: int, heavy_concurrency: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="render")
        self._heavy = ThreadPoolExecutor(
            max_workers=heavy_concurrency, thread_name_prefix="render-heavy"
        )
        self._capacity = concurrency + queue_limit
        self._admitted = 0
        self._in_flight: dict[str, asyncio.Future[object]] = {}

    @property
    def admitted(self) -> int:
        """Renders running or waiting for a thread, in either lane."""
        return self._admitted

    async def run(self, key: str, work: Callable[[], T | Heavy[T]]) -> T:
        """`work()` in a thread, at most once at a time per `key`; Overloaded past the limit.

        If `work` returns `Heavy(rest)`, `rest()` runs next in the heavy lane.
        """
        running = self._in_flight.get(key)
        if running is None:
            if self._admitted >= self._capacity:
                raise Overloaded("Too many renders are queued; retry in a moment.", retry_after=1)
            first = asyncio.get_running_loop().run_in_executor(self._pool, work)
            running = cast("asyncio.Future[object]", asyncio.ensure_future(self._lanes(first)))
            self._admitted += 1
            self._in_flight[key] = running
            running.add_done_callback(lambda done: self._finished(key, done))
        # A caller that goes away (client disconnect) must not cancel a render that others
        # share, nor release its slot while the thread still works: the bookkeeping happens
        # when the thread is done, not when the caller stops waiting.
        return cast(T, await asyncio.shield(running))

    async def _lanes(self, first: asyncio.Future[T | Heavy[T]]) -> T:
        result = await first
        if isinstance(result, Heavy):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._heavy, result.rest)
        return result

    def _finished(self, key: str, done: asyncio.Future[object]) -> None:
        self._admitted -= 1
        del self._in_flight[key]
        if not done.cancelled():
            done.exception()  # retrieved here when every waiter has gone away

    def close(self) -> None:
        """Stop the threads once the renders already admitted are done."""
        self._pool.shutdown(wait=True)
        self._heavy.shutdown(wait=True)
