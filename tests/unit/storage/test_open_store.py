"""`open_store` maps a storage URL onto a backend, or says why it cannot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from darkroom import errors
from darkroom.storage import LocalStore, UnsupportedStorage, open_store
from darkroom.storage.s3 import S3Store
from tests.s3_server import REGION, S3Server


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


@pytest.mark.parametrize(
    ("path", "prefix"),
    [("/tenants/acme", "tenants/acme/"), ("/tenants/acme/", "tenants/acme/"), ("", ""), ("/", "")],
)
def test_s3_url_names_the_bucket_and_prefix(
    s3_server: S3Server, s3_bucket: str, path: str, prefix: str
) -> None:
    store = open_store(
        f"s3://{s3_bucket}{path}", s3_endpoint_url=s3_server.endpoint, s3_region=REGION
    )
    assert isinstance(store, S3Store)
    try:
        assert (store.bucket, store.prefix) == (s3_bucket, prefix)
        store.put("originals/k", b"stored", content_type="image/png")
        stored = s3_server.admin.get_object(Bucket=s3_bucket, Key=f"{prefix}originals/k")
        with stored["Body"] as body:
            assert body.read() == b"stored"
        assert stored["ContentType"] == "image/png"
    finally:
        store.close()


@pytest.mark.parametrize(
    "url", ["s3://", "s3:///prefix", "s3://bucket//double", "s3://bucket/../up", "s3://a b/c"]
)
def test_bad_s3_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        open_store(url)
    assert not caught.value.retryable


def test_s3_without_boto3_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if boto3 were not installed: the S3 module is imported afresh, and fails.
    monkeypatch.delitem(sys.modules, "darkroom.storage.s3", raising=False)
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(UnsupportedStorage, match=r"pip install 'darkroom-images\[s3\]'") as caught:
        open_store("s3://bucket/prefix")
    assert "s3://bucket/prefix" in caught.value.message
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.parametrize("url", ["ftp://host/dir", "./data/objects", "file://", "memory://"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedStorage) as caught:
        open_store(url)
    assert url in caught.value.message
    # A configuration mistake: fails start-up, never worth a retry.
    assert isinstance(caught.value, errors.DarkroomError)
    assert not caught.value.retryable
