"""The HTTP roles: the API app of `darkroom api`, and uvicorn stopping on SIGTERM with exit 0."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from darkroom.api.app import create_app
from darkroom.runtime.wiring import SHARED_BROKER, wire
from darkroom.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulServer(uvicorn.Server):
    """Stops accepting, drains requests, runs the lifespan shutdown, then exits 0.

    Stock uvicorn re-raises the signal after its graceful shutdown, so the process reports
    "killed by SIGTERM" even after a clean stop; supervisors should see success.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Route the stop signals to uvicorn's graceful exit, and restore them afterwards."""
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve_http(app: FastAPI, settings: Settings) -> None:
    """Serve `app` on the configured address until SIGTERM/SIGINT."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # Logging is configured once for the process (runtime.logs); uvicorn's own
        # configuration would replace it with a second format.
        log_config=None,
        log_level=settings.log_level,
        # uvicorn formats each access line before its logger drops it: skip that work
        # when the level would drop it anyway.
        access_log=settings.log_level in ("info", "debug"),
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
    )
    GracefulServer(config).run()


def api_app(settings: Settings) -> FastAPI:
    """The HTTP API alone: it records uploads and enqueues work for the workers."""
    wired = wire(settings, shared_broker=SHARED_BROKER.format(role="The api role"))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            wired.close()

    return create_app(wired.ctx, lifespan=lifespan)
