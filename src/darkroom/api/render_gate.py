"""Bounded, de-duplicated on-demand rendering for one API process.

At most `concurrency` renders run at once, in worker threads (never on the event loop);
up to `queue_limit` more wait for a slot, and beyond that requests are refused with 503
and Retry-After instead of piling up in memory. Identical requests in flight share one
render (single-flight): the second waits for the first's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar, cast

import anyio
import anyio.to_thread

from darkroom.errors import Overloaded

T = TypeVar("T")


class RenderGate:
    """Admission control, a CPU-sized thread limit and single-flight by key."""

    def __init__(self, concurrency: int, queue_limit: int) -> None:
        self._slots = anyio.CapacityLimiter(concurrency)
        self._capacity = concurrency + queue_limit
        self._admitted = 0
        self._in_flight: dict[str, asyncio.Future[object]] = {}

    async def run(self, key: str, work: Callable[[], T]) -> T:
        """`work()` in a thread, at most once at a time per `key`; Overloaded past the limit."""
        running = self._in_flight.get(key)
        if running is not None:
            return cast(T, await asyncio.shield(running))
        if self._admitted >= self._capacity:
            raise Overloaded("Too many renders are queued; retry in a moment.", retry_after=1)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        self._admitted += 1
        try:
            value = await anyio.to_thread.run_sync(work, limiter=self._slots)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marks it retrieved when nobody else was waiting
            raise
        else:
            future.set_result(value)
            return value
        finally:
            self._admitted -= 1
            del self._in_flight[key]
