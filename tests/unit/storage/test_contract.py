"""The ObjectStore contract, run against every backend: LocalStore and S3Store on moto."""

from __future__ import annotations

import errno
import io
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from darkroom import errors
from darkroom.storage import InvalidKey, LocalStore, ObjectStore
from darkroom.storage import s3 as s3_module
from darkroom.storage.atomic import TEMP_PREFIX
from darkroom.storage.s3 import S3Store
from tests.unit.storage.helpers import FailingReader, StreamReader

MiB = 1024 * 1024


def test_put_get_round_trip(store: ObjectStore) -> None:
    store.put("originals/ab/cd/x.jpg", b"\xff\xd8 bytes", content_type="image/jpeg")
    assert store.get("originals/ab/cd/x.jpg") == b"\xff\xd8 bytes"
    assert store.exists("originals/ab/cd/x.jpg")
    assert store.size("originals/ab/cd/x.jpg") == 8
    with store.open("originals/ab/cd/x.jpg") as reader:
        assert reader.read(4) == b"\xff\xd8 b"
        assert reader.read() == b"ytes"
    assert reader.closed


def test_put_empty_object(store: ObjectStore) -> None:
    store.put("empty", b"")
    assert (store.get("empty"), store.size("empty"), store.exists("empty")) == (b"", 0, True)
    with store.open("empty") as reader:
        assert reader.read() == b""


def test_put_replaces_the_whole_object(store: ObjectStore) -> None:
    store.put("k", b"a much longer first version")
    store.put("k", b"short")
    assert store.get("k") == b"short"
    assert list(store.iterate()) == ["k"]


def test_put_file_streams_from_a_path(store: ObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    payload = os.urandom(3 * MiB + 17)
    source.write_bytes(payload)
    store.put_file("variants/img/thumb-0123abcd.jpg", source, content_type="image/jpeg")
    store.put_file("as-str", str(source))
    assert store.get("variants/img/thumb-0123abcd.jpg") == payload
    assert store.get("as-str") == payload
    assert store.size("as-str") == len(payload)


def test_put_file_reads_a_file_object_from_its_position(store: ObjectStore) -> None:
    source = io.BytesIO(b"header:body")
    source.seek(7)
    store.put_file("k", source)
    assert store.get("k") == b"body"
    assert not source.closed


def test_put_file_reads_a_stream_that_cannot_seek(store: ObjectStore) -> None:
    payload = os.urandom(MiB + 3)
    source = io.BufferedReader(StreamReader(payload))
    assert not source.seekable()
    store.put_file("k", source)
    assert store.get("k") == payload


def test_open_streams_in_pieces(store: ObjectStore) -> None:
    payload = os.urandom(2 * MiB + 5)
    store.put("big", payload)
    pieces = []
    with store.open("big") as reader:
        while piece := reader.read(300_000):
            pieces.append(piece)
    assert b"".join(pieces) == payload
    assert len(pieces) == 7


def test_missing_keys_raise_not_found(store: ObjectStore) -> None:
    store.put("a/b", b"x")
    for key in ("missing", "a/missing", "a", "a/b/c"):
        assert not store.exists(key)
        with pytest.raises(errors.NotFound):
            store.get(key)
        with pytest.raises(errors.NotFound):
            store.size(key)
        with pytest.raises(errors.NotFound):
            store.open(key)


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a//b", "a/./b", "é", "a/"])
def test_every_method_validates_keys(store: ObjectStore, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.put(key, b"x"),
        lambda: store.put_file(key, io.BytesIO(b"x")),
        lambda: store.get(key),
        lambda: store.open(key),
        lambda: store.exists(key),
        lambda: store.size(key),
        lambda: store.delete(key),
        lambda: store.url(key),
    ]
    for call in calls:
        with pytest.raises(InvalidKey):
            call()
    if key != "a/":
        # "a/" is a valid prefix (a key and a slash), so only iterate accepts it.
        with pytest.raises(InvalidKey):
            store.iterate(key)
    assert list(store.iterate()) == []


# --- a failing source stores nothing ---------------------------------------------------


def test_source_failing_mid_write_propagates_and_stores_nothing(store: ObjectStore) -> None:
    source = FailingReader(b"x" * 100, errors.ImageTooLarge("over the limit"))
    with pytest.raises(errors.ImageTooLarge, match="over the limit"):
        store.put_file("variants/img/p-0123abcd.jpg", io.BufferedReader(source))
    # The first chunk was read before the failure.
    assert source.reads >= 2
    assert not store.exists("variants/img/p-0123abcd.jpg")
    assert list(store.iterate()) == []


def test_source_failing_mid_write_keeps_the_previous_object(store: ObjectStore) -> None:
    store.put("k", b"previous")
    source = FailingReader(b"new data", OSError(errno.ECONNRESET, "connection reset"))
    with pytest.raises(OSError, match="connection reset"):
        store.put_file("k", io.BufferedReader(source))
    assert store.get("k") == b"previous"
    assert list(store.iterate()) == ["k"]


def test_missing_source_path_stores_nothing(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.put_file("a/b/k", tmp_path / "vanished.bin")
    assert list(store.iterate()) == []


# --- delete ----------------------------------------------------------------------------


def test_delete_is_idempotent(store: ObjectStore) -> None:
    store.put("variants/img1/a-0123abcd.jpg", b"a")
    store.put("variants/img1/b-0123abcd.jpg", b"b")
    store.delete("variants/img1/a-0123abcd.jpg")
    assert not store.exists("variants/img1/a-0123abcd.jpg")
    with pytest.raises(errors.NotFound):
        store.get("variants/img1/a-0123abcd.jpg")
    assert list(store.iterate()) == ["variants/img1/b-0123abcd.jpg"]
    store.delete("variants/img1/a-0123abcd.jpg")
    store.delete("never/existed")
    assert list(store.iterate()) == ["variants/img1/b-0123abcd.jpg"]


def test_delete_of_a_directory_key_removes_nothing(store: ObjectStore) -> None:
    store.put("a/b", b"x")
    store.delete("a")
    store.delete("a/b/c")
    assert store.get("a/b") == b"x"


# --- iterate ---------------------------------------------------------------------------


KEYS = [
    "a",
    "a-b",
    "a.b",
    "ab",
    "b/1",
    "b/10",
    "b/2",
    "B",
    "originals/ab/cd/h1.jpg",
    "originals/ab/ce/h2.png",
    "originals/ac/00/h3.gif",
]


@pytest.fixture
def filled(store: ObjectStore) -> ObjectStore:
    """The store holding every key of KEYS, each object its own key's bytes."""
    for key in reversed(KEYS):
        store.put(key, key.encode())
    return store


def test_iterate_yields_sorted_keys(filled: ObjectStore) -> None:
    assert list(filled.iterate()) == sorted(KEYS)
    assert list(filled.iterate("")) == sorted(KEYS)


def test_iterate_order_is_string_order_across_directories(store: ObjectStore) -> None:
    keys = ["a-b", "a.b", "a/x", "a/y/z", "a0", "ab"]
    for key in reversed(keys):
        store.put(key, b"")
    # '-' and '.' sort before '/', and '0' after it: a per-directory sort gets this wrong.
    assert list(store.iterate()) == sorted(keys) == keys


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (
            "originals/",
            ["originals/ab/cd/h1.jpg", "originals/ab/ce/h2.png", "originals/ac/00/h3.gif"],
        ),
        ("originals/ab", ["originals/ab/cd/h1.jpg", "originals/ab/ce/h2.png"]),
        ("originals/ab/", ["originals/ab/cd/h1.jpg", "originals/ab/ce/h2.png"]),
        ("originals/ab/c", ["originals/ab/cd/h1.jpg", "originals/ab/ce/h2.png"]),
        ("originals/ab/cd/h1.jpg", ["originals/ab/cd/h1.jpg"]),
        ("b/1", ["b/1", "b/10"]),
        ("a", ["a", "a-b", "a.b", "ab"]),
        ("B", ["B"]),
        ("originals/zz", []),
        ("nothing/here/", []),
        ("a/", []),
    ],
)
def test_iterate_filters_by_prefix(filled: ObjectStore, prefix: str, expected: list[str]) -> None:
    assert list(filled.iterate(prefix)) == expected


def test_iterate_is_lazy_and_validates_eagerly(store: ObjectStore) -> None:
    store.put("k1", b"")
    keys: Iterator[str] = store.iterate()
    store.put("k2", b"")
    assert list(keys) == ["k1", "k2"]
    with pytest.raises(InvalidKey):
        store.iterate("/abs")


# --- sweep: what interrupted writes leave behind ---------------------------------------

LEASE = timedelta(minutes=5)


def leave_interrupted_write(store: ObjectStore, key: str) -> None:
    """What a process killed while writing `key` leaves: a temp file beside the target on
    local disk, an incomplete multipart upload (one part sent) on S3."""
    if isinstance(store, LocalStore):
        target = store.root.joinpath(*key.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}").write_bytes(b"half an object")
    elif isinstance(store, S3Store):
        client = store._client  # the store's own connection to the bucket
        name = store.prefix + key
        upload = client.create_multipart_upload(Bucket=store.bucket, Key=name)
        client.upload_part(
            Bucket=store.bucket,
            Key=name,
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=b"half an object",
        )
    else:  # pragma: no cover - a new backend must say what its leftovers are
        raise AssertionError(f"no interrupted write known for {store!r}")


def leftovers(store: ObjectStore) -> int:
    """How many leftovers of interrupted writes the store holds, as its backend sees them."""
    if isinstance(store, LocalStore):
        return sum(1 for path in store.root.rglob("*") if path.name.startswith(TEMP_PREFIX))
    assert isinstance(store, S3Store)
    listing = store._client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    return len(listing.get("Uploads", ()))


def age_leftovers(store: ObjectStore, by: timedelta, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every leftover `by` older: older mtimes on disk; on S3, whose servers date
    uploads themselves, the store's clock moved forward instead."""
    if isinstance(store, LocalStore):
        for path in store.root.rglob(f"{TEMP_PREFIX}*"):
            mtime = path.stat().st_mtime - by.total_seconds()
            os.utime(path, (mtime, mtime))
    else:
        later = datetime.now(UTC) + by
        monkeypatch.setattr(s3_module, "_now", lambda: later)


def test_leftovers_of_interrupted_writes_are_not_objects(store: ObjectStore) -> None:
    store.put("variants/img/a-0123abcd.jpg", b"a")
    leave_interrupted_write(store, "variants/img/b-0123abcd.jpg")
    leave_interrupted_write(store, "originals/ab/cd/h.jpg")
    assert leftovers(store) == 2
    assert list(store.iterate()) == ["variants/img/a-0123abcd.jpg"]
    assert list(store.iterate("originals/")) == []
    assert not store.exists("variants/img/b-0123abcd.jpg")
    with pytest.raises(errors.NotFound):
        store.size("variants/img/b-0123abcd.jpg")


def test_sweep_removes_leftovers_older_than_the_limit_and_no_object(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = {"variants/img/a-0123abcd.jpg": b"a", "originals/ab/cd/h1.jpg": b"h1", "k": b""}
    for key, data in objects.items():
        store.put(key, data)
    leave_interrupted_write(store, "variants/img/b-0123abcd.jpg")
    leave_interrupted_write(store, "originals/ab/cd/h1.jpg")  # a replacement, interrupted
    leave_interrupted_write(store, "cache/img/0123abcd.webp")
    age_leftovers(store, timedelta(hours=1), monkeypatch)
    assert store.sweep(LEASE) == 3
    assert leftovers(store) == 0
    assert list(store.iterate()) == sorted(objects)
    assert {key: store.get(key) for key in objects} == objects
    assert store.sweep(LEASE) == 0


def test_sweep_keeps_leftovers_younger_than_the_limit(
    store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Younger than a lease: possibly a write still in progress.
    leave_interrupted_write(store, "variants/img/b-0123abcd.jpg")
    assert store.sweep(LEASE) == 0
    age_leftovers(store, timedelta(minutes=4), monkeypatch)
    assert store.sweep(LEASE) == 0
    assert leftovers(store) == 1
    assert store.sweep(timedelta(minutes=3)) == 1
    assert leftovers(store) == 0
