"""The HTTP roles: the API app of `darkroom api`, and uvicorn stopping on SIGTERM with exit 0.

Also the secure-by-default start check: while no API key exists the API is open, which is
acceptable on a loopback address only (or when the operator says `--insecure`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from darkroom.api.app import create_app
from darkroom.runtime.allocator import idle_trimmer
from darkroom.runtime.sweeper import Sweeper
from darkroom.runtime.wiring import SHARED_BROKER, Wired, wire
from darkroom.service import auth
from darkroom.service.context import Context
from darkroom.settings import Settings

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
CREATE_KEY = "darkroom keys create --owner NAME --role admin"


def is_loopback(host: str) -> bool:
    """Whether binding `host` serves this machine only: 127.0.0.0/8, ::1 or localhost."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # another name may resolve anywhere
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def open_access_refusal(ctx: Context, settings: Settings, *, insecure: bool) -> str | None:
    """Why the API must not start open, or None when it may start (warning when it is open).

    Keys protect every route as soon as one exists; until then the API is open to whoever
    reaches it, which is refused on anything but a loopback address unless `insecure`.
    """
    if auth.protected(ctx):
        return None
    where = f"{settings.host}:{settings.port}"
    if is_loopback(settings.host):
        log.warning(
            "no API key exists: the API on %s is open to every local user and process; "
            "create a key with `%s` to require keys",
            where,
            CREATE_KEY,
        )
        return None
    if insecure:
        log.warning(
            "no API key exists and --insecure is given: the API on %s is open to anyone "
            "who can reach it; create a key with `%s`",
            where,
            CREATE_KEY,
        )
        return None
    return (
        f"No API key exists, so the API would be open to anyone who can reach {where}. "
        f"Create a key first with `{CREATE_KEY}`, bind a loopback address "
        "(--host 127.0.0.1), or pass --insecure to serve it open anyway."
    )


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
        # The API logs one event per request itself (api.observe), with the route, the key
        # and the request id; uvicorn's access line would say the same thing twice.
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds),
    )
    GracefulServer(config).run()


def api_wiring(settings: Settings) -> Wired:
    """What the HTTP API alone runs on: the context and the shared broker."""
    return wire(settings, shared_broker=SHARED_BROKER.format(role="The api role"))


def api_app(settings: Settings, wired: Wired | None = None) -> FastAPI:
    """The HTTP API alone: it records uploads and enqueues work for the workers."""
    running = wired if wired is not None else api_wiring(settings)
    # An API process writes too (uploads, the render cache) and holds render bursts in
    # memory: it sweeps what killed writes left, and hands memory back when idle.
    beside = [Sweeper.for_context(running.ctx), idle_trimmer()]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for task in beside:
            if task is not None:
                task.start()
        try:
            yield
        finally:
            for task in beside:
                if task is not None:
                    task.stop()
            running.close()

    return create_app(running.ctx, lifespan=lifespan)
