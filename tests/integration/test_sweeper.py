"""A started service sweeps what killed writes left in its stores, and only that.

The leftovers are real temp files as `write_atomically` names them, dated back past a
lease, in both the originals' and the outputs' store; a fresh one (a write that may still
be in progress) and the objects stay.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from darkroom.storage import LocalStore
from darkroom.storage.atomic import TEMP_PREFIX
from tests.corpus import read
from tests.integration.conftest import start_service

LEASE_SECONDS = 60


def leftover(directory: Path, name: str, age: timedelta) -> Path:
    """A temp file of a write interrupted `age` ago."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{TEMP_PREFIX}{name}"
    path.write_bytes(b"half an object")
    mtime = time.time() - age.total_seconds()
    os.utime(path, (mtime, mtime))
    return path


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(f"{TEMP_PREFIX}*"))


def test_service_sweeps_old_leftovers_at_start_and_keeps_the_rest(tmp_path: Path) -> None:
    originals, outputs = tmp_path / "objects", tmp_path / "outputs"
    old = timedelta(seconds=LEASE_SECONDS * 2)
    stale = [
        leftover(originals / "originals" / "ab" / "cd", "0a1b2c3d", old),
        leftover(originals, "deadbeef", old),
        leftover(outputs / "variants" / "img", "feedface", old),
    ]
    fresh = leftover(outputs / "cache" / "img", "0f0f0f0f", timedelta(seconds=5))
    kept = LocalStore(originals)
    kept.put("originals/ab/cd/kept.jpg", b"an object")
    run = start_service(
        tmp_path, output_storage_url=f"file://{outputs}", lease_seconds=LEASE_SECONDS
    )
    with contextmanager(run)() as service:
        # The sweep removes a leftover, then the folders it emptied: wait for both.
        deadline = time.monotonic() + 30
        while any(path.exists() for path in stale) or (outputs / "variants").exists():
            assert time.monotonic() < deadline, temp_files(tmp_path)
            time.sleep(0.05)
        assert temp_files(originals) == []
        assert temp_files(outputs) == [fresh]
        assert service.objects() == ["originals/ab/cd/kept.jpg"]
        assert kept.get("originals/ab/cd/kept.jpg") == b"an object"
        # The service works as before: an upload is stored and processed.
        image = service.upload(read("jpeg-progressive.jpg"), profiles="thumb_200").json()
        assert service.wait(image["id"])["status"] == "done"
