"""`darkroom serve`: API, queue workers, reconciler and outbox sender in one process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq
from fastapi import FastAPI

from darkroom.api.app import create_app
from darkroom.queue.outbox import OutboxSender
from darkroom.queue.reconciler import Reconciler
from darkroom.retry import DEFAULT_POLICY, RetryPolicy
from darkroom.runtime.allocator import idle_trimmer
from darkroom.runtime.sweeper import Sweeper
from darkroom.runtime.wiring import wire
from darkroom.service import analyses, variants
from darkroom.service.handoff import Handoff
from darkroom.settings import Settings

log = logging.getLogger(__name__)


class Embedded:
    """Everything `darkroom serve` runs, wired from one set of settings."""

    def __init__(
        self, settings: Settings, *, retry: RetryPolicy = DEFAULT_POLICY, poll_ms: int = 500
    ) -> None:
        """`poll_ms`: how long an idle consumer thread waits for a message before it looks
        whether it should stop (shutdown takes about twice that) and whether a retry's
        delayed message is due (it may start that much late). Each queue has one, so an
        idle service spent 21 ms of CPU a second waking them every 100 ms, 7 at 500."""
        self.settings = settings
        self.wired = wire(settings, retry=retry)
        self.ctx = self.wired.ctx
        if settings.broker_url.startswith("memory:") and settings.upload_handoff_bytes:
            # Every variant message is consumed in this process: uploads can hand over
            # the decode their verification made (`service.handoff`).
            self.ctx.handoff = Handoff(settings.upload_handoff_bytes)
        self.worker = dramatiq.Worker(
            self.wired.broker, worker_threads=settings.workers, worker_timeout=poll_ms
        )
        self.reconciler = Reconciler.for_settings(self.ctx, settings)
        self.outbox = OutboxSender(self.ctx)
        self.sweeper = Sweeper.for_context(self.ctx)
        self.trimmer = idle_trimmer()

    def start(self) -> None:
        """Start the workers, recover what a previous run left unfinished, start reconciling."""
        self.worker.start()
        if self.settings.broker_url.startswith("memory:"):
            # Only this process works on this database's queue: whatever a previous run
            # left processing or pending lost its message with that process.
            released, recovered = variants.recover(self.ctx)
            log.info("recovered %d unfinished variant(s) (%d leases released)", recovered, released)
            released, recovered = analyses.recover(self.ctx)
            log.info(
                "recovered %d unfinished analysis(es) (%d leases released)", recovered, released
            )
        self.reconciler.start()
        self.outbox.start()
        self.sweeper.start()
        if self.trimmer is not None:
            self.trimmer.start()

    def stop(self) -> None:
        """Stop reconciling; let in-flight transforms finish within the shutdown timeout."""
        self.reconciler.stop()
        self.outbox.stop()
        self.sweeper.stop()
        if self.trimmer is not None:
            self.trimmer.stop()
        self.worker.stop(timeout=int(self.settings.shutdown_timeout_seconds * 1000))
        self.wired.close()

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
