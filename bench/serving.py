"""A fresh `darkroom serve` for a benchmark: SQLite and a local folder under `root`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def serve(
    root: Path,
    port: int,
    *,
    workers: int,
    env: Mapping[str, str] | None = None,
    command: tuple[str, ...] = ("-m", "darkroom", "serve"),
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the service (its log in `root/serve.log`), wait until healthy, stop it after."""
    settings = os.environ | {
        "DARKROOM_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
        "DARKROOM_STORAGE_URL": f"file://{root / 'objects'}",
        "DARKROOM_PORT": str(port),
        "DARKROOM_WORKERS": str(workers),
        "DARKROOM_LOG_LEVEL": "warning",
    }
    log = (root / "serve.log").open("ab")
    child = subprocess.Popen(
        [sys.executable, *command], env=settings | dict(env or {}), stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError((root / "serve.log").read_text())
            time.sleep(0.2)
        yield child
    finally:
        child.terminate()
        child.wait(timeout=60)
        log.close()
