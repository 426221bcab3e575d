"""The reconciler: the database, not the broker, is the source of truth for pending work."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from darkroom.service import variants
from darkroom.service.context import Context
from darkroom.settings import Settings

log = logging.getLogger(__name__)


class Reconciler:
    """A thread that periodically re-enqueues stuck variants: the DB is the source of truth."""

    def __init__(self, ctx: Context, interval: float, pending_grace: timedelta) -> None:
        self._ctx = ctx
        self._interval = interval
        self._pending_grace = pending_grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="darkroom-reconciler", daemon=True)

    @classmethod
    def for_settings(cls, ctx: Context, settings: Settings) -> Reconciler:
        """The reconciler a role runs, on the configured interval."""
        # A pending variant is presumed to have lost its message only after a full lease:
        # a shorter grace would pile duplicate messages onto a merely long queue.
        return cls(
            ctx,
            settings.reconcile_interval_seconds,
            pending_grace=timedelta(seconds=settings.lease_seconds),
        )

    def start(self) -> None:
        """Start the periodic pass."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current pass."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.run_once()

    def run_once(self) -> int:
        """One pass; errors are logged and the next pass tries again."""
        try:
            count = variants.reconcile(self._ctx, pending_grace=self._pending_grace)
        except Exception:
            log.exception("reconciler pass failed")
            return 0
        if count:
            log.info("reconciler re-enqueued %d variant(s)", count)
        return count
