"""The real app, embedded on a temporary SQLite file and folder, served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from darkroom.runtime.embedded import Embedded
from darkroom.settings import load_settings
from tests.live_server import live_server


def pytest_configure(config: pytest.Config) -> None:
    """Register `slow` for this folder too, so it runs on its own with --strict-markers."""
    config.addinivalue_line("markers", "slow: a long-running test")


@dataclass
class Served:
    """A running embedded service: its base URL, an HTTP client, and the runtime."""

    url: str
    http: httpx.Client
    runtime: Embedded


def serve(root: Path) -> Iterator[Served]:
    """The embedded service rooted at `root`, with unsigned renders allowed."""
    settings = load_settings(
        database_url=f"sqlite:///{root / 'darkroom.db'}",
        storage_url=f"file://{root / 'objects'}",
        workers=1,
        allow_unsigned=True,  # so that generated renders are exercised, not refused with 403
        # Generated sizes go up to 16383 px a side: cap what one render may cost.
        max_pixels=1_000_000,
        # Remote renders on, from an origin that never resolves: generated URLs are refused
        # (403) or fail to resolve, never fetched from the internet.
        render_allow_hosts=["images.example.invalid"],
        reconcile_interval_seconds=60,
    )
    runtime = Embedded(settings, poll_ms=10)
    with live_server(runtime.app()) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Served(url, http, runtime)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One service for a test module."""
    yield from serve(tmp_path_factory.mktemp("contract"))
