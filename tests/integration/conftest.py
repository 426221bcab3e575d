"""The embedded service over real HTTP: SQLite file, local folder, in-process workers."""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from darkroom.db.migrate import upgrade
from darkroom.retry import RetryPolicy
from darkroom.runtime.embedded import Embedded
from darkroom.settings import load_settings
from tests.live_server import live_server

DONE_STATES = ("done", "failed")
FAST_RETRIES = RetryPolicy(time_scale=0.01)
"""The production schedule (2, 4, 8 ... s), a hundred times faster: retries without sleeping."""
TLS = ssl.create_default_context()
"""One for every test client: loading the CA bundle costs ~25 ms a client (none is used on
loopback, but httpx builds the context anyway)."""


@functools.cache
def migrated_database() -> Path:
    """An empty SQLite database at the newest revision, made once per test process.

    A service's database starts as a copy of it: running every migration costs ~40 ms,
    once per test. The service still checks the revision at start, as it always does.
    """
    folder = Path(tempfile.mkdtemp(prefix="darkroom-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "darkroom.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:  # everything into the main file: no -wal
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@dataclass
class Service:
    """A running embedded service and an HTTP client for it."""

    runtime: Embedded
    http: httpx.Client
    root: Path

    def upload(self, data: bytes, name: str = "image", **fields: Any) -> httpx.Response:
        """POST /v1/images as multipart."""
        return self.http.post("/v1/images", files={"file": (name, data)}, data=fields)

    def wait(self, image_id: str, timeout: float = 60) -> dict[str, Any]:
        """Poll until the image is done or failed; its final JSON."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.http.get(f"/v1/images/{image_id}").json()
            if body["status"] in DONE_STATES:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"image {image_id} still {body['status']}: {body}")
            time.sleep(0.05)

    def objects(self, prefix: str = "") -> list[str]:
        """Every object key in local storage under `prefix`."""
        return list(self.runtime.ctx.originals.iterate(prefix))


def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    """Poll `check` until it holds. For what the service does just after the state a test
    waited for: a transform is logged and counted after its result is committed, say."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def start_service(root: Path, **overrides: Any) -> Callable[[], Iterator[Service]]:
    """A factory for a service rooted at `root`."""

    def run() -> Iterator[Service]:
        defaults: dict[str, Any] = {
            "database_url": f"sqlite:///{root / 'darkroom.db'}",
            "storage_url": f"file://{root / 'objects'}",
            "workers": 2,
            "reconcile_interval_seconds": 0.5,
        }
        settings = load_settings(**(defaults | overrides))
        if "database_url" not in overrides:
            root.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(migrated_database(), root / "darkroom.db")
        runtime = Embedded(settings, retry=FAST_RETRIES, poll_ms=10)
        with (
            live_server(runtime.app()) as url,
            httpx.Client(base_url=url, timeout=30, verify=TLS) as http,
        ):
            yield Service(runtime, http, root)

    return run


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A fresh embedded service for one test."""
    yield from start_service(tmp_path)()
