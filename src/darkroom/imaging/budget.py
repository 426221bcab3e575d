"""A wall-clock budget per render: libvips is told to stop when the time runs out.

One watchdog thread per process holds the deadlines of the renders being encoded and sets
libvips' kill flag on the image of any render that outlives its deadline; libvips checks
that flag as it computes each region, so even a single huge blur stops within moments.
A render costs no thread of its own: registering is a heap push under a lock.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyvips

from darkroom.errors import RenderTimeout


@dataclass
class _Watch:
    deadline: float
    image: pyvips.Image | None
    """Dropped when the render ends, so that a finished pipeline is not kept alive."""
    fired: bool = False


class _Watchdog:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: float, image: pyvips.Image) -> _Watch:
        watch = _Watch(deadline, image)
        with self._wake:
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="render-watchdog", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return watch

    def remove(self, watch: _Watch) -> None:
        # Left in the heap and skipped when due: removal from the middle would cost O(n).
        with self._wake:
            watch.image = None

    def _run(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0][2].image is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, _, watch = self._heap[0]
                now = time.monotonic()
                if deadline > now:
                    self._wake.wait(deadline - now)
                    continue
                heapq.heappop(self._heap)
                assert watch.image is not None
                watch.fired = True
                watch.image.set_kill(True)


_WATCHDOG = _Watchdog()


@dataclass(frozen=True)
class Budget:
    """`seconds` of wall-clock time for one render, counted from the budget's creation."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        return self.started + self.seconds

    def check(self) -> None:
        """Raise RenderTimeout if the budget is spent (between stages of a render)."""
        if time.monotonic() >= self.deadline:
            raise self.exceeded()

    def exceeded(self) -> RenderTimeout:
        return RenderTimeout(
            f"The render took longer than its {self.seconds:g} s budget and was stopped. "
            "Ask for a smaller output or lighter effects (blur, enlargement, many frames).",
            details={"budget_seconds": self.seconds},
        )

    @contextmanager
    def watching(self, image: pyvips.Image) -> Iterator[None]:
        """Compute `image` (and what depends on it) inside the block, stopped at the deadline."""
        self.check()
        watch = _WATCHDOG.add(self.deadline, image)
        try:
            yield
        except pyvips.Error:
            if watch.fired:
                raise self.exceeded() from None
            raise
        finally:
            _WATCHDOG.remove(watch)
