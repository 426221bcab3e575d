"""`darkroom worker`: queue consumers, the reconciler and the outbox sender, in 1+ processes."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

import dramatiq

from darkroom.analysis import registry
from darkroom.errors import ConfigurationError, ExtraNotInstalled
from darkroom.queue.broker import ANALYSIS_QUEUES, DISPATCH, QUEUES, TRANSFORM
from darkroom.queue.outbox import OutboxSender
from darkroom.queue.reconciler import Reconciler
from darkroom.runtime.allocator import idle_trimmer
from darkroom.runtime.sweeper import Sweeper
from darkroom.runtime.wiring import SHARED_BROKER, wire
from darkroom.service import grants
from darkroom.settings import Settings

log = logging.getLogger(__name__)

SIGNAL_CHECK_SECONDS = 0.5


ALL = "all"
"""Every queue this process can work on: dispatch, transform, and each analyzer installed."""


def consumable(queues: Sequence[str]) -> list[str]:
    """The queues to consume; ConfigurationError for an unknown one, or an analyzer's queue
    whose extra is not installed here (naming the pip install), before anything starts."""
    if list(queues) == [ALL]:
        analyzers = [ANALYSIS_QUEUES[name] for name in registry.installed()]
        return [DISPATCH, TRANSFORM, *analyzers]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise ConfigurationError(
            f"Unknown queue(s) {', '.join(unknown)}: choose from {ALL}, {', '.join(QUEUES)}."
        )
    for name, queue in ANALYSIS_QUEUES.items():
        if queue in queues:
            try:
                registry.check_installed(name)
            except ExtraNotInstalled as exc:
                raise ConfigurationError(f"Cannot consume {queue}: {exc.message}") from None
    return list(queues)


class WorkerProcess:
    """Dramatiq consumers on the chosen queues, plus a reconciler, until SIGTERM/SIGINT."""

    def __init__(self, settings: Settings, queues: Sequence[str], threads: int) -> None:
        queues = consumable(queues)
        self.settings = settings
        self.wired = wire(settings, shared_broker=SHARED_BROKER.format(role="The worker role"))
        self.ctx = self.wired.ctx
        self.queue_names = {self.wired.queue.queue_names[q] for q in queues}
        self.worker = dramatiq.Worker(
            self.wired.broker, queues=self.queue_names, worker_threads=threads
        )
        # A worker without storage credentials works from the presigned URLs in its
        # messages; reconciling (which signs URLs) and sweeping belong to processes that
        # hold the credentials.
        self.credentialed = grants.holds_credentials(self.ctx)
        self.reconciler = Reconciler.for_settings(self.ctx, settings)
        self.outbox = OutboxSender(self.ctx)
        self.sweeper = Sweeper.for_context(self.ctx)
        self.trimmer = idle_trimmer()
        self._stop = threading.Event()

    def run(self) -> None:
        """Consume until a stop signal, then let running messages finish (bounded)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        self.worker.start()
        if self.credentialed:
            self.reconciler.start()
            self.sweeper.start()
        else:
            log.info(
                "no storage credentials: working from the presigned URLs in messages; the "
                "reconciler and sweeper run in the processes that hold credentials"
            )
        self.outbox.start()
        if self.trimmer is not None:
            self.trimmer.start()
        log.info("worker consuming %s", ", ".join(sorted(self.queue_names)))
        # Woken twice a second: a stop signal may land on any of the process's threads,
        # and Python runs its handler only when the main thread next runs Python code; an
        # untimed wait could sleep through it (seen: a SIGTERM acted on 30 s late).
        stopping = False
        while not stopping:
            stopping = self._stop.wait(SIGNAL_CHECK_SECONDS)
        log.info("stopping: letting running transforms finish")
        self.reconciler.stop()
        self.outbox.stop()
        self.sweeper.stop()
        if self.trimmer is not None:
            self.trimmer.stop()
        self.worker.stop(timeout=int(self.settings.shutdown_timeout_seconds * 1000))
        self.wired.close()


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
