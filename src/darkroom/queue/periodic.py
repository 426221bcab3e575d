"""A background thread that runs one step on an interval until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `step` every `interval` seconds in a daemon thread; a failing step is logged."""

    def __init__(self, name: str, interval: float, step: Callable[[], int]) -> None:
        self.name = name
        self._interval = interval
        self._step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"darkroom-{name}", daemon=True)

    def start(self) -> None:
        """Start the periodic passes."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run_once(self) -> int:
        """One pass, returning how much it did; errors are logged and the next pass retries."""
        try:
            return self._step()
        except Exception:
            log.exception("%s pass failed", self.name)
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.run_once()
