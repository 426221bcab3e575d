"""`darkroom serve` as a real process: crash recovery after SIGKILL, clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.corpus import ok_entries

PROFILES = "thumb_200,webp_800,avatar"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(root: Path, port: int) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    env = os.environ | {
        "DARKROOM_DATABASE_URL": f"sqlite:///{root / 'darkroom.db'}",
        "DARKROOM_STORAGE_URL": f"file://{root / 'objects'}",
        "DARKROOM_PORT": str(port),
        "DARKROOM_WORKERS": "1",
        "DARKROOM_RECONCILE_INTERVAL_SECONDS": "1",
        "DARKROOM_LOG_LEVEL": "warning",
    }
    log = (root / "serve.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "darkroom", "serve"], env=env, stdout=log, stderr=log, cwd=root
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((root / "serve.log").read_text())
                time.sleep(0.1)
            yield process, http
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        log.close()


def images_of(http: httpx.Client) -> list[dict[str, object]]:
    items: list[dict[str, object]] = http.get("/v1/images", params={"limit": 200}).json()["items"]
    return items


def test_sigkill_mid_processing_then_restart_finishes_everything(tmp_path: Path) -> None:
    port = free_port()
    entries = [e for e in ok_entries() if e.category in ("orientation", "photo", "jpeg")][:20]
    assert len(entries) == 20
    with serve(tmp_path, port) as (process, http):
        for entry in entries:
            response = http.post(
                "/v1/images",
                files={"file": (entry.file, entry.read())},
                data={"profiles": PROFILES},
            )
            assert response.status_code == 202
        statuses = [v["status"] for i in images_of(http) for v in i["variants"]]  # type: ignore[attr-defined]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert statuses.count("done") < 60, "the crash should interrupt the work"
    assert len(statuses) == 60, statuses

    with serve(tmp_path, port) as (_, http):
        deadline = time.monotonic() + 240
        while True:
            images = images_of(http)
            if all(i["status"] == "done" for i in images):
                break
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.25)
        assert len(images) == 20
        variants = [v for i in images for v in i["variants"]]  # type: ignore[attr-defined]
        assert len(variants) == 60
        assert all(v["status"] == "done" for v in variants)
        for image in images:
            for variant in image["variants"]:  # type: ignore[attr-defined]
                assert http.get(variant["url"]).status_code == 200
    # One output per variant: a re-run of an interrupted transform overwrote, never forked.
    outputs = [p for p in (tmp_path / "objects" / "variants").rglob("*") if p.is_file()]
    assert len(outputs) == 60


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    entry = ok_entries()[0]
    with serve(tmp_path, port) as (process, http):
        http.post(
            "/v1/images", files={"file": (entry.file, entry.read())}, data={"profiles": PROFILES}
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
