"""The scale-out roles: `darkroom api` (HTTP only) and `darkroom worker` (queue consumers)."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

import dramatiq
from fastapi import FastAPI

from darkroom.api.app import create_app
from darkroom.db.migrate import upgrade
from darkroom.errors import ConfigurationError
from darkroom.queue.broker import QUEUES, DramatiqQueue, make_broker
from darkroom.runtime import Reconciler
from darkroom.service import profiles
from darkroom.service.context import Context, build_context
from darkroom.settings import Settings

log = logging.getLogger(__name__)


def connect(settings: Settings) -> tuple[Context, DramatiqQueue]:
    """Migrate (safe from many processes at once), then wire the context to the broker."""
    if settings.broker_url.startswith("memory:"):
        raise ConfigurationError(
            "The api and worker roles share work through a broker: set DARKROOM_BROKER_URL "
            "to amqp://… (RabbitMQ) or redis://…, or run `darkroom serve` for one process."
        )
    upgrade(settings.database_url)
    ctx = build_context(settings)
    profiles.ensure_defaults(ctx)
    queue = DramatiqQueue(make_broker(settings.broker_url), ctx, prefix=settings.queue_prefix)
    ctx.queue = queue
    return ctx, queue


def api_app(settings: Settings) -> FastAPI:
    """The HTTP API alone: it records uploads and enqueues work for the workers."""
    ctx, queue = connect(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            queue.broker.close()
            ctx.engine.dispose()

    return create_app(ctx, lifespan=lifespan)


class WorkerProcess:
    """Dramatiq consumers on the chosen queues, plus a reconciler, until SIGTERM/SIGINT."""

    def __init__(self, settings: Settings, queues: Sequence[str], threads: int) -> None:
        unknown = sorted(set(queues) - set(QUEUES))
        if unknown:
            raise ConfigurationError(
                f"Unknown queue(s) {', '.join(unknown)}: choose from {', '.join(QUEUES)}."
            )
        self.settings = settings
        self.ctx, self.queue = connect(settings)
        self.queue_names = {self.queue.queue_names[q] for q in queues}
        self.worker = dramatiq.Worker(
            self.queue.broker, queues=self.queue_names, worker_threads=threads
        )
        self.reconciler = Reconciler(
            self.ctx,
            settings.reconcile_interval_seconds,
            pending_grace=timedelta(seconds=settings.lease_seconds),
        )
        self._stop = threading.Event()

    def run(self) -> None:
        """Consume until a stop signal, then let running messages finish (bounded)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        self.worker.start()
        self.reconciler.start()
        log.info("worker consuming %s", ", ".join(sorted(self.queue_names)))
        self._stop.wait()
        log.info("stopping: letting running transforms finish")
        self.reconciler.stop()
        self.worker.stop(timeout=int(self.settings.shutdown_timeout_seconds * 1000))
        self.queue.broker.close()
        self.ctx.engine.dispose()


def run_worker_processes(argv: Sequence[str], processes: int, metrics_port: int | None) -> int:
    """Run `processes` copies of this worker command; stop them all on SIGTERM/SIGINT.

    Separate processes, not threads, give libvips and Python each core: a GIL-bound
    thread pool would leave cores idle on the Python parts of a transform. Each child
    serves its metrics on `metrics_port + index`.
    """
    base = [sys.executable, "-m", "darkroom", *argv, "--processes", "1"]

    def command(index: int) -> list[str]:
        if metrics_port is None:
            return base
        return [*base, "--metrics-port", str(metrics_port + index)]

    children = [subprocess.Popen(command(i)) for i in range(processes)]

    forwarded: set[int] = set()

    def forward(signum: int, _frame: object) -> None:
        forwarded.add(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    # A child still starting up when the stop signal came dies of it: that is a stop too.
    codes = [0 if -child.wait() in forwarded else child.returncode for child in children]
    return max(codes, key=abs, default=0)
