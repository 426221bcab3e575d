"""LocalStore's own behaviour: files on disk, atomic writes, pruning, what listing skips.

The ObjectStore contract it shares with every backend is tested in test_contract.py.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from darkroom import errors
from darkroom.storage import InvalidKey, LocalStore, ObjectStore
from darkroom.storage import local as local_module
from darkroom.storage.local import CHUNK_SIZE
from tests.unit.storage.helpers import FailingReader


@pytest.fixture
def store(local_store: LocalStore) -> LocalStore:
    """The local backend only: these tests look at its files."""
    return local_store


def files_under(root: Path) -> list[str]:
    """Every file below `root`, temp files included, as sorted relative paths."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_is_an_object_store(store: LocalStore) -> None:
    as_protocol: ObjectStore = store
    assert as_protocol is store
    assert repr(store) == f"LocalStore({str(store.root)!r})"


def test_objects_are_files_at_their_key_path(store: LocalStore) -> None:
    store.put("originals/ab/cd/x.jpg", b"\xff\xd8 bytes", content_type="image/jpeg")
    assert (store.root / "originals/ab/cd/x.jpg").read_bytes() == b"\xff\xd8 bytes"


def test_put_file_writes_in_chunks_and_replaces(store: LocalStore, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    payload = os.urandom(3 * local_module.CHUNK_SIZE + 17)
    source.write_bytes(payload)
    store.put("variants/img/thumb-0123abcd.jpg", b"longer" * local_module.CHUNK_SIZE)
    store.put_file("variants/img/thumb-0123abcd.jpg", source)
    assert (store.root / "variants/img/thumb-0123abcd.jpg").read_bytes() == payload
    assert files_under(store.root) == ["variants/img/thumb-0123abcd.jpg"]


def test_url_is_none_for_local_objects(store: LocalStore) -> None:
    store.put("k", b"x")
    assert store.url("k") is None
    with pytest.raises(InvalidKey):
        store.url("../k")


# --- atomic writes ---------------------------------------------------------------------


def test_source_failing_mid_write_leaves_nothing(store: LocalStore) -> None:
    source = FailingReader(b"x" * 100, errors.ImageTooLarge("over the limit"))
    with pytest.raises(errors.ImageTooLarge, match="over the limit"):
        store.put_file("variants/img/p-0123abcd.jpg", io.BufferedReader(source))
    # The first chunk was read and written before the failure.
    assert source.reads >= 2
    assert not store.exists("variants/img/p-0123abcd.jpg")
    assert files_under(store.root) == []


def test_source_failing_mid_write_keeps_the_previous_object(store: LocalStore) -> None:
    store.put("k", b"previous")
    source = FailingReader(b"new data", OSError(errno.ECONNRESET, "connection reset"))
    with pytest.raises(OSError, match="connection reset"):
        store.put_file("k", io.BufferedReader(source))
    assert store.get("k") == b"previous"
    assert files_under(store.root) == ["k"]


def test_missing_source_path_leaves_nothing(store: LocalStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("a/b/k", tmp_path / "vanished.bin")
    assert files_under(store.root) == []


def test_interrupt_mid_write_leaves_nothing(store: LocalStore) -> None:
    source = FailingReader(b"x" * 10, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        store.put_file("k", io.BufferedReader(source))
    assert files_under(store.root) == []


def test_failed_rename_leaves_no_temp_file(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put("k", b"old")

    # A rename failure (EXDEV, EIO) cannot be provoked on a healthy tmp_path.
    def broken_replace(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(errors.StorageUnavailable) as caught:
        store.put("k", b"new")
    assert caught.value.retryable
    assert isinstance(caught.value.__cause__, OSError)
    monkeypatch.undo()
    assert store.get("k") == b"old"
    assert files_under(store.root) == ["k"]


def test_failed_fsync_is_storage_unavailable(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full or failing disk cannot be provoked on a healthy tmp_path either.
    def broken_fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(errors.StorageUnavailable):
        store.put("a/k", b"data")
    monkeypatch.undo()
    assert files_under(store.root) == []


def test_concurrent_puts_of_one_key_end_with_a_complete_object(store: LocalStore) -> None:
    payloads = [bytes([n]) * (256 * 1024 + n) for n in range(8)]
    barrier = threading.Barrier(len(payloads))
    failures: list[BaseException] = []

    def writer(payload: bytes) -> None:
        barrier.wait()
        try:
            for _ in range(5):
                store.put("originals/ab/cd/same.png", payload)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.get("originals/ab/cd/same.png") in payloads
    assert files_under(store.root) == ["originals/ab/cd/same.png"]


def test_put_survives_a_concurrent_prune_of_its_directory(
    store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A delete pruning the directory between put's mkdir and its temp file is a window of
    # microseconds; this opens it deterministically with a real rmdir at that moment.
    real_open = os.open
    pruned: list[Path] = []

    def open_after_prune(path: Path, flags: int, mode: int = 0o777) -> int:
        if not pruned and path.name.startswith(".~tmp-"):
            pruned.append(path.parent)
            path.parent.rmdir()
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_after_prune)
    store.put("a/b/k", b"data")
    monkeypatch.undo()
    assert pruned == [store.root / "a" / "b"]
    assert store.get("a/b/k") == b"data"


def test_objects_get_the_umask_permissions(store: LocalStore) -> None:
    umask = os.umask(0o022)
    try:
        store.put("k", b"x")
        store.put_file("a/f", io.BytesIO(b"x"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE((store.root / "k").stat().st_mode) == 0o644
    assert stat.S_IMODE((store.root / "a" / "f").stat().st_mode) == 0o644


def test_key_under_an_object_is_refused(store: LocalStore) -> None:
    store.put("a/b", b"file")
    with pytest.raises(InvalidKey, match="collides"):
        store.put("a/b/c", b"x")
    store.put("d/e", b"x")
    with pytest.raises(InvalidKey, match="collides"):
        store.put("d", b"x")
    assert files_under(store.root) == ["a/b", "d/e"]


# --- delete ----------------------------------------------------------------------------


def test_delete_is_idempotent_and_prunes_empty_directories(store: LocalStore) -> None:
    store.put("variants/img1/a-0123abcd.jpg", b"a")
    store.put("variants/img1/b-0123abcd.jpg", b"b")
    store.put("variants/img2/a-0123abcd.jpg", b"c")

    store.delete("variants/img1/a-0123abcd.jpg")
    assert (store.root / "variants/img1").is_dir()
    store.delete("variants/img1/b-0123abcd.jpg")
    assert not (store.root / "variants/img1").exists()
    assert (store.root / "variants/img2").is_dir()
    store.delete("variants/img2/a-0123abcd.jpg")
    assert list(store.root.iterdir()) == []
    assert store.root.is_dir()

    store.delete("variants/img2/a-0123abcd.jpg")
    store.delete("never/existed")
    assert store.root.is_dir()


def test_delete_never_prunes_above_the_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "deep" / "root")
    store.put("k", b"x")
    store.delete("k")
    assert (tmp_path / "deep" / "root").is_dir()


def test_delete_prunes_directories_a_previous_delete_left(store: LocalStore) -> None:
    (store.root / "x" / "y").mkdir(parents=True)
    store.delete("x/y/gone")
    assert list(store.root.iterdir()) == []


# --- iterate ---------------------------------------------------------------------------


def test_iterate_skips_temp_files_and_foreign_names(store: LocalStore) -> None:
    store.put("dir/real", b"x")
    (store.root / "dir" / ".~tmp-abc123").write_bytes(b"half")
    (store.root / "dir" / "with space").write_bytes(b"x")
    (store.root / "caf\u00e9").mkdir()
    (store.root / "caf\u00e9" / "k").write_bytes(b"x")
    assert list(store.iterate()) == ["dir/real"]


# --- sweep -----------------------------------------------------------------------------

LEASE = timedelta(minutes=5)
WRITER = """
import sys
from darkroom.storage import LocalStore

# Streams stdin to one key, as a worker streams a render: killed before the end of input.
LocalStore(sys.argv[1]).put_file("variants/img/p-0123abcd.jpg", sys.stdin.buffer)
"""


def backdate(path: Path, by: timedelta) -> None:
    mtime = path.stat().st_mtime - by.total_seconds()
    os.utime(path, (mtime, mtime))


def test_sigkill_mid_write_leaves_a_temp_file_that_only_sweep_removes(store: LocalStore) -> None:
    store.put("originals/ab/cd/h.jpg", b"an object")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store.root)], stdin=subprocess.PIPE
    )
    assert writer.stdin is not None
    try:
        writer.stdin.write(os.urandom(3 * CHUNK_SIZE // 2))
        writer.stdin.flush()
        target_dir = store.root / "variants" / "img"
        deadline = time.monotonic() + 30
        # The first chunk is on disk in the temp file: the write is under way.
        while not [p for p in target_dir.glob(".~tmp-*") if p.stat().st_size >= CHUNK_SIZE]:
            assert writer.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        writer.kill()
        writer.wait()
        writer.stdin.close()
    [temp] = target_dir.glob(".~tmp-*")
    # Nothing that counts sees it: not listed, not an object.
    assert list(store.iterate()) == ["originals/ab/cd/h.jpg"]
    assert not store.exists("variants/img/p-0123abcd.jpg")
    # Fresh, it could be a write in progress: kept.
    assert store.sweep(LEASE) == 0
    assert temp.exists()
    backdate(temp, timedelta(hours=1))
    assert store.sweep(LEASE) == 1
    # Gone with the directories it alone kept; the object is untouched.
    assert files_under(store.root) == ["originals/ab/cd/h.jpg"]
    assert not (store.root / "variants").exists()
    assert store.get("originals/ab/cd/h.jpg") == b"an object"


def test_sweep_goes_through_every_directory_and_leaves_the_rest_alone(store: LocalStore) -> None:
    store.put("a/b/c/d/k", b"k")
    store.put("top", b"t")
    old = [
        store.root / ".~tmp-root",
        store.root / "a" / ".~tmp-1",
        store.root / "a" / "b" / "c" / "d" / ".~tmp-2",
        store.root / "x" / "y" / ".~tmp-3",
    ]
    fresh = store.root / "a" / "b" / ".~tmp-fresh"
    foreign = [store.root / "a" / "with space", store.root / "a" / "b" / "~tmp-not-ours"]
    for path in [*old, fresh, *foreign]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in old:
        backdate(path, timedelta(hours=1))
    for path in foreign:
        backdate(path, timedelta(days=30))
    # A directory named like a temp file, and a link to a temp file elsewhere, are not ones.
    (store.root / ".~tmp-dir").mkdir()
    backdate(store.root / ".~tmp-dir", timedelta(hours=1))
    outside = store.root.parent / ".~tmp-outside"
    outside.write_bytes(b"not in the store")
    backdate(outside, timedelta(hours=1))
    (store.root / "a" / ".~tmp-link").symlink_to(outside)
    assert store.sweep(LEASE) == 4
    assert not any(path.exists() for path in old)
    assert fresh.exists()
    assert all(path.exists() for path in foreign)
    assert outside.exists()
    assert not (store.root / "x").exists()  # left empty by its temp file: pruned
    assert store.root.is_dir()
    assert store.get("a/b/c/d/k") == b"k"
    assert list(store.iterate()) == ["a/b/c/d/k", "top"]


# --- the backend's own failures --------------------------------------------------------


def test_unreadable_object_is_storage_unavailable(store: LocalStore) -> None:
    (store.root / "loop").symlink_to(store.root / "loop")
    with pytest.raises(errors.StorageUnavailable) as caught:
        store.get("loop")
    assert caught.value.retryable
    with pytest.raises(errors.StorageUnavailable):
        store.open("loop")


def test_root_that_is_a_file_is_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(errors.StorageUnavailable, match="local storage directory"):
        LocalStore(tmp_path / "file")


def test_root_is_created_and_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = LocalStore(Path("data") / "objects")
    assert store.root == tmp_path.resolve() / "data" / "objects"
    assert store.root.is_dir()
