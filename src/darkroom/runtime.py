"""The embedded runtime of `darkroom serve`: API, queue workers and reconciler in one process."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import dramatiq
from fastapi import FastAPI

from darkroom.api.app import create_app
from darkroom.db import repo
from darkroom.db.engine import transaction
from darkroom.db.migrate import upgrade
from darkroom.queue.broker import DramatiqQueue, make_broker
from darkroom.service import profiles, variants
from darkroom.service.context import Context, build_context
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


class Embedded:
    """Everything `darkroom serve` runs, wired from one set of settings."""

    def __init__(self, settings: Settings) -> None:
        upgrade(settings.database_url)
        self.settings = settings
        self.ctx = build_context(settings)
        created = profiles.ensure_defaults(self.ctx)
        if created:
            log.info("created default profiles: %s", ", ".join(created))
        self.broker = make_broker(settings.broker_url)
        self.ctx.queue = DramatiqQueue(self.broker, self.ctx, prefix=settings.queue_prefix)
        # A short consumer poll keeps shutdown prompt; polling an in-memory queue is free.
        self.worker = dramatiq.Worker(
            self.broker, worker_threads=settings.workers, worker_timeout=100
        )
        # A pending variant is presumed to have lost its message only after a full lease:
        # a shorter grace would pile duplicate messages onto a merely long queue.
        self.reconciler = Reconciler(
            self.ctx,
            settings.reconcile_interval_seconds,
            pending_grace=timedelta(seconds=settings.lease_seconds),
        )

    def start(self) -> None:
        """Start the workers, recover what a previous run left unfinished, start reconciling."""
        self.worker.start()
        if self.settings.broker_url.startswith("memory:"):
            # Only this process works on this database's queue: whatever a previous run
            # left processing or pending lost its message with that process.
            with transaction(self.ctx.sessions) as session:
                released = repo.release_leases(session)
            recovered = variants.reconcile(self.ctx, pending_grace=timedelta(0))
            log.info("recovered %d unfinished variant(s) (%d leases released)", recovered, released)
        self.reconciler.start()

    def stop(self) -> None:
        """Stop reconciling; let in-flight transforms finish within the shutdown timeout."""
        self.reconciler.stop()
        self.worker.stop(timeout=int(self.settings.shutdown_timeout_seconds * 1000))
        self.broker.close()
        self.ctx.engine.dispose()

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """Run the workers for as long as the API serves."""
        self.start()
        try:
            yield
        finally:
            self.stop()

    def app(self) -> FastAPI:
        """The API, with this runtime's workers started and stopped alongside it."""
        return create_app(self.ctx, lifespan=self.lifespan)
