"""The HTTP server process: uvicorn, stopping on SIGTERM/SIGINT with exit status 0."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import uvicorn

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
