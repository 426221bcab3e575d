"""The embedded service over real HTTP: SQLite file, local folder, in-process workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from darkroom.retry import RetryPolicy
from darkroom.runtime.embedded import Embedded
from darkroom.settings import load_settings
from tests.live_server import live_server

DONE_STATES = ("done", "failed")
FAST_RETRIES = RetryPolicy(time_scale=0.01)
"""The production schedule (2, 4, 8 ... s), a hundred times faster: retries without sleeping."""


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
        runtime = Embedded(settings, retry=FAST_RETRIES, poll_ms=10)
        with live_server(runtime.app()) as url, httpx.Client(base_url=url, timeout=30) as http:
            yield Service(runtime, http, root)

    return run


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """A fresh embedded service for one test."""
    yield from start_service(tmp_path)()
