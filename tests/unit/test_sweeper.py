"""The sweeper thread: each store once (however many roles it plays), at start, and on."""

from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from darkroom.errors import StorageUnavailable
from darkroom.runtime.sweeper import Sweeper, distinct_stores
from darkroom.storage import LocalStore, ObjectStore
from darkroom.storage.atomic import TEMP_PREFIX

LEASE = timedelta(minutes=5)


def leave_old_temp(store: LocalStore, name: str) -> Path:
    path = store.root / "variants" / "img" / f"{TEMP_PREFIX}{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half")
    mtime = time.time() - 3600
    os.utime(path, (mtime, mtime))
    return path


class CountingStore(LocalStore):
    """A local store that counts its sweeps."""

    sweeps = 0

    def sweep(self, older_than: timedelta) -> int:
        self.sweeps += 1
        return super().sweep(older_than)


class DownStore(LocalStore):
    def sweep(self, older_than: timedelta) -> int:
        raise StorageUnavailable("the disk is gone (injected)")


def test_originals_and_outputs_in_one_place_are_swept_once(tmp_path: Path) -> None:
    originals = CountingStore(tmp_path / "objects")
    outputs = CountingStore(tmp_path / "objects")  # opened from the same URL
    other = CountingStore(tmp_path / "outputs")
    assert distinct_stores([originals, outputs, originals]) == [originals]
    sweeper = Sweeper([originals, outputs, other], LEASE)
    assert sweeper.stores == [originals, other]
    leave_old_temp(originals, "a")
    leave_old_temp(other, "b")
    assert sweeper.sweep() == 2
    assert (originals.sweeps, outputs.sweeps, other.sweeps) == (1, 0, 1)


def test_a_store_that_fails_is_reported_and_the_others_still_swept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="darkroom.runtime.sweeper")
    good = LocalStore(tmp_path / "good")
    temp = leave_old_temp(good, "a")
    stores: list[ObjectStore] = [DownStore(tmp_path / "down"), good]
    assert Sweeper(stores, LEASE).sweep() == 1
    assert not temp.exists()
    [warning, info] = caplog.records
    assert warning.levelname == "WARNING"
    assert "the disk is gone (injected)" in warning.getMessage()
    assert info.getMessage() == f"swept 1 leftover(s) of interrupted writes from {good!r}"


def test_the_first_sweep_runs_at_start_and_then_on_the_interval(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "objects")
    first = leave_old_temp(store, "first")
    sweeper = Sweeper([store], LEASE, interval=0.05)
    sweeper.start()
    try:
        deadline = time.monotonic() + 10
        # The sweep prunes the folders it emptied just after the file: the next leftover
        # goes into a fresh folder, not one being removed under it.
        while first.exists() or (store.root / "variants").exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        later = leave_old_temp(store, "later")
        while later.exists() or store.sweeps < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        sweeper.stop()
    assert not sweeper._thread.is_alive()
