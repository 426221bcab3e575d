"""A live embedded service for the client tests: an admin key, a CDN, a file origin, a stall.

Module-scoped in each client test module: starting the service once keeps every test well
under a second, and nothing the tests do there leaks into other modules.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from darkroom.service import auth
from darkroom.storage import ObjectStore
from tests.corpus import CORPUS
from tests.integration.conftest import Service, start_service
from tests.receiver import Receiver, receiving

SIGNING_KEY = "client-test-signing-key-0123456789"
WEBHOOK_SECRET = "client-test-webhook-secret-0123456789"
PNG = "png-interlaced-rgba.png"  # 100x100: cheap to store and render
JPEG = "jpeg-progressive.jpg"
TOO_MANY_PIXELS = "bomb-png-65536x65536.png"
NOT_AN_IMAGE = "broken-not-an-image-ole-doc.jpg"
OUTSIDE_CROP = {"crop": {"left": 0, "top": 0, "width": 500, "height": 500}}
"""A profile whose crop lies outside the 100x100 PNG: its variant fails for good."""


@dataclass
class World:
    """The running service, its URL, an admin key, the receivers and the corpus origin."""

    service: Service
    url: str
    admin_key: str
    cdn: Receiver
    hooks: Receiver
    """Where webhooks (callback_url) are delivered."""
    origin: str
    """An http origin on 127.0.0.1 serving tests/fixtures/corpus."""

    def stall_outputs(self) -> Stall:
        """Hold every variant write until the stall is released (a slow object store)."""
        stall = Stall(self.service.runtime.ctx.outputs)
        self.service.runtime.ctx.outputs = stall
        return stall

    def restore_outputs(self, stall: Stall) -> None:
        """Undo `stall_outputs`."""
        stall.release.set()
        self.service.runtime.ctx.outputs = stall.inner


class Stall:
    """A real store whose writes wait for `release`.

    A fault injector: an image reliably still at work when a wait times out needs a store
    slower than any test machine, which cannot be produced otherwise.
    """

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.release = threading.Event()

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self.release.wait(30)
        self.inner.put(key, data, content_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def corpus_origin() -> Iterator[str]:
    """Serve the corpus over http on a free loopback port."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests check what the service fetched."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(CORPUS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def client_world(root: Path) -> Iterator[World]:
    """The service with an admin key (so keys are checked), a CDN, webhooks and an origin."""
    with receiving() as cdn, receiving() as hooks, corpus_origin() as origin:
        run = start_service(
            root,
            signing_keys=[SIGNING_KEY],
            cdn_purge_base=cdn.url,
            url_fetch_allow_hosts=["127.0.0.1"],
            webhook_secret=WEBHOOK_SECRET,
            webhook_allow_hosts=["127.0.0.1"],
            outbox_interval_seconds=0.05,
        )
        for service in run():
            key, _ = auth.create_key(service.runtime.ctx, owner_id="ops", role="admin")
            url = str(service.http.base_url).rstrip("/")
            yield World(service, url, key, cdn, hooks, origin)
