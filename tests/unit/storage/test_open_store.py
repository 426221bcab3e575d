"""`open_store` maps a storage URL onto a backend, or says why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom import errors
from darkroom.storage import LocalStore, UnsupportedStorage, open_store


def test_relative_file_url_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file://./data/objects")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path.resolve() / "data" / "objects"
    # Resolved once: a later chdir does not move the store.
    monkeypatch.chdir(tmp_path / "data")
    store.put("k", b"x")
    assert (tmp_path / "data" / "objects" / "k").read_bytes() == b"x"


def test_relative_file_url_without_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("file://uploads")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path.resolve() / "uploads"


def test_absolute_file_url(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/objects")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path.resolve() / "objects"
    assert str(tmp_path).startswith("/")


def test_s3_says_it_is_not_available_yet() -> None:
    with pytest.raises(UnsupportedStorage, match=r"S3 storage \(s3://\) is not available"):
        open_store("s3://bucket/prefix")


@pytest.mark.parametrize("url", ["ftp://host/dir", "./data/objects", "file://", "memory://"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedStorage) as caught:
        open_store(url)
    assert url in caught.value.message
    # A configuration mistake: fails start-up, never worth a retry.
    assert isinstance(caught.value, errors.DarkroomError)
    assert not caught.value.retryable
