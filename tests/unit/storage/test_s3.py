"""S3Store on a real S3 server (moto): what only S3 has, and how its failures are mapped."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from darkroom import errors
from darkroom.storage import InvalidKey, ObjectStore
from darkroom.storage import s3 as s3_module
from darkroom.storage.s3 import S3Misconfigured, S3Store, translate_error
from tests.s3_server import REGION, S3Server, credentials_env

MiB = 1024 * 1024
# Fail fast: these tests provoke outages on purpose.
IMPATIENT = Config(
    connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1, "mode": "standard"}
)


class RecordingFile(io.FileIO):
    """A file on disk that records the size of every read asked of it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self.read_sizes: list[int] = []

    def read(self, size: int | None = -1, /) -> bytes:
        self.read_sizes.append(-1 if size is None else size)
        return super().read(size)


def raw_keys(server: S3Server, bucket: str) -> list[str]:
    """Every key in the bucket as S3 itself lists it."""
    listing = server.admin.list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", ())]


def test_is_an_object_store(s3_store: S3Store, s3_bucket: str) -> None:
    as_protocol: ObjectStore = s3_store
    assert as_protocol is s3_store
    assert repr(s3_store) == f"S3Store('s3://{s3_bucket}/store/prefix/')"


def test_objects_land_under_the_prefix_with_their_content_type(
    s3_server: S3Server, s3_bucket: str, s3_store: S3Store, tmp_path: Path
) -> None:
    (tmp_path / "f").write_bytes(b"avif bytes")
    s3_store.put("a/k", b"webp bytes", content_type="image/webp")
    s3_store.put_file("a/f", tmp_path / "f", content_type="image/avif")
    assert raw_keys(s3_server, s3_bucket) == ["store/prefix/a/f", "store/prefix/a/k"]
    head = s3_server.admin.head_object(Bucket=s3_bucket, Key="store/prefix/a/k")
    assert head["ContentType"] == "image/webp"
    head = s3_server.admin.head_object(Bucket=s3_bucket, Key="store/prefix/a/f")
    assert head["ContentType"] == "image/avif"


def test_presigned_get_url_serves_the_object(s3_store: S3Store) -> None:
    payload = os.urandom(100_000)
    s3_store.put("variants/img/p-0123abcd.webp", payload, content_type="image/webp")
    url = s3_store.url("variants/img/p-0123abcd.webp")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["3600"]
    with httpx.Client(trust_env=False) as http:
        response = http.get(url)
    assert response.status_code == 200
    assert response.content == payload
    assert response.headers["content-type"] == "image/webp"


def test_url_lifetime_is_configurable(s3_server: S3Server, s3_bucket: str) -> None:
    store = S3Store(s3_bucket, endpoint_url=s3_server.endpoint, region=REGION, url_expires_in=60)
    try:
        assert parse_qs(urlsplit(store.url("k")).query)["X-Amz-Expires"] == ["60"]
        put_url = store.presigned_put_url("k", expires_in=30)
        assert parse_qs(urlsplit(put_url).query)["X-Amz-Expires"] == ["30"]
    finally:
        store.close()


def test_presigned_put_url_lets_a_worker_upload_without_credentials(s3_store: S3Store) -> None:
    url = s3_store.presigned_put_url("variants/img/p-0123abcd.webp", content_type="image/webp")
    with httpx.Client(trust_env=False) as http:
        response = http.put(url, content=b"worker bytes", headers={"Content-Type": "image/webp"})
    assert response.status_code == 200, response.text
    assert s3_store.get("variants/img/p-0123abcd.webp") == b"worker bytes"


def test_put_file_streams_a_large_file_in_parts(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    store = S3Store(
        s3_bucket, endpoint_url=s3_server.endpoint, region=REGION, multipart_threshold=5 * MiB
    )
    path = tmp_path / "large.bin"
    payload = os.urandom(12 * MiB)
    path.write_bytes(payload)
    try:
        with RecordingFile(path) as source:
            store.put_file("from-file-object", source)
        store.put_file("from-path", path)
        for key in ("from-file-object", "from-path"):
            # A multipart upload's ETag ends with its number of parts: 5 + 5 + 2 MiB.
            assert s3_server.admin.head_object(Bucket=s3_bucket, Key=key)["ETag"].endswith('-3"')
            assert store.size(key) == len(payload)
        assert store.get("from-path") == payload
        # Streamed: never the whole file at once, at most one part per read.
        assert source.read_sizes
        assert all(0 <= size <= 5 * MiB for size in source.read_sizes)
    finally:
        store.close()
    assert raw_keys(s3_server, s3_bucket) == ["from-file-object", "from-path"]


def test_iterate_follows_every_page(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "LIST_PAGE_SIZE", 3)
    client = s3_server.client()
    listings: list[str] = []
    client.meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **kwargs: listings.append("list")
    )
    store = S3Store(s3_bucket, "paged", client=client)
    keys = [f"k/{n:02d}" for n in range(11)]
    for key in reversed(keys):
        store.put(key, b"")
    assert list(store.iterate()) == keys
    assert len(listings) == 4
    assert list(store.iterate("k/1")) == ["k/10"]
    # The store did not create the client, so it leaves it open for its owner.
    store.close()
    assert store.exists("k/00")
    client.close()


def test_stores_with_different_prefixes_are_isolated(s3_server: S3Server, s3_bucket: str) -> None:
    def open_at(prefix: str) -> S3Store:
        return S3Store(s3_bucket, prefix, endpoint_url=s3_server.endpoint, region=REGION)

    tenant, sibling, whole = open_at("tenant"), open_at("tenant-b/"), open_at("")
    try:
        tenant.put("k", b"tenant")
        tenant.put("x/y", b"tenant")
        sibling.put("k", b"sibling")
        assert (tenant.get("k"), sibling.get("k")) == (b"tenant", b"sibling")
        assert list(tenant.iterate()) == ["k", "x/y"]
        assert list(sibling.iterate()) == ["k"]
        assert list(sibling.iterate("x")) == []
        with pytest.raises(errors.NotFound):
            sibling.get("x/y")
        tenant.delete("k")
        assert not tenant.exists("k")
        assert sibling.get("k") == b"sibling"
        assert list(whole.iterate()) == ["tenant-b/k", "tenant/x/y"]
    finally:
        for store in (tenant, sibling, whole):
            store.close()


def test_objects_no_key_could_name_are_not_listed(
    s3_server: S3Server, s3_bucket: str, s3_store: S3Store
) -> None:
    for foreign in ("store/prefix/with space", "store/prefix/dir/", "store/prefixed-sibling"):
        s3_server.admin.put_object(Bucket=s3_bucket, Key=foreign, Body=b"")
    s3_store.put("dir/real", b"x")
    assert list(s3_store.iterate()) == ["dir/real"]


# --- sweep: incomplete multipart uploads ----------------------------------------------

LEASE = timedelta(minutes=5)
UPLOADER = """
import sys
from darkroom.storage.s3 import S3Store

bucket, prefix, endpoint, region = sys.argv[1:5]
store = S3Store(bucket, prefix, endpoint_url=endpoint, region=region, multipart_threshold=5 << 20)
# Streams stdin to one key in 5 MiB parts, as a worker streams a large render.
store.put_file("variants/img/p-0123abcd.tiff", sys.stdin.buffer)
"""


def uploads(server: S3Server, bucket: str, prefix: str = "") -> list[str]:
    """The keys of the bucket's incomplete multipart uploads under `prefix`."""
    listing = server.admin.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return sorted(upload["Key"] for upload in listing.get("Uploads", ()))


def parts_sent(server: S3Server, bucket: str) -> int:
    listing = server.admin.list_multipart_uploads(Bucket=bucket)
    return sum(
        len(
            server.admin.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get(
                "Parts", []
            )
        )
        for u in listing.get("Uploads", ())
    )


def test_sigkill_mid_multipart_upload_leaves_an_upload_that_only_sweep_aborts(
    s3_server: S3Server, s3_bucket: str, s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_store.put("originals/ab/cd/h.jpg", b"an object")
    uploader = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, s3_bucket, "store/prefix", s3_server.endpoint, REGION],
        stdin=subprocess.PIPE,
        env=os.environ | credentials_env(),
    )
    assert uploader.stdin is not None
    try:
        uploader.stdin.write(os.urandom(6 * MiB))
        uploader.stdin.flush()
        deadline = time.monotonic() + 30
        while parts_sent(s3_server, s3_bucket) < 1:  # the upload is under way
            assert uploader.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        uploader.kill()
        uploader.wait()
        uploader.stdin.close()
    assert uploads(s3_server, s3_bucket) == ["store/prefix/variants/img/p-0123abcd.tiff"]
    # Nothing that counts sees it: not listed, not an object.
    assert list(s3_store.iterate()) == ["originals/ab/cd/h.jpg"]
    assert not s3_store.exists("variants/img/p-0123abcd.tiff")
    # Its last part was just sent: it could be an upload in progress, kept.
    assert s3_store.sweep(LEASE) == 0
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr(s3_module, "_now", lambda: later)
    assert s3_store.sweep(LEASE) == 1
    assert uploads(s3_server, s3_bucket) == []
    assert raw_keys(s3_server, s3_bucket) == ["store/prefix/originals/ab/cd/h.jpg"]


def test_sweep_aborts_only_its_own_uploads(
    s3_server: S3Server, s3_bucket: str, s3_store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "store/prefix/variants/img/p-0123abcd.jpg",  # the store's: aborted
        "store/prefix-sibling/k",  # another store's prefix
        "other/k",  # outside the prefix
        "store/prefix/with space",  # under the prefix, but no key of ours
    ):
        upload = s3_server.admin.create_multipart_upload(Bucket=s3_bucket, Key=name)
        s3_server.admin.upload_part(
            Bucket=s3_bucket, Key=name, UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
        )
    later = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr(s3_module, "_now", lambda: later)
    assert s3_store.sweep(LEASE) == 1
    assert uploads(s3_server, s3_bucket) == [
        "other/k",
        "store/prefix-sibling/k",
        "store/prefix/with space",
    ]


def test_reader_closed_early_releases_the_object(s3_store: S3Store) -> None:
    s3_store.put("k", os.urandom(3 * MiB))
    with s3_store.open("k") as reader:
        assert len(reader.read(10)) == 10
    assert reader.closed
    with pytest.raises(ValueError, match="closed"):
        reader.read(1)
    # The connection pool still works after a response abandoned half-read.
    assert s3_store.size("k") == 3 * MiB


def test_constructor_refuses_a_bad_bucket_or_prefix() -> None:
    with pytest.raises(S3Misconfigured, match="bucket name"):
        S3Store("no spaces allowed")
    with pytest.raises(InvalidKey):
        S3Store("bucket", "../up")


def test_keys_too_long_with_the_prefix_are_refused() -> None:
    store = S3Store("bucket", "p" * 100, endpoint_url="http://127.0.0.1:9", region=REGION)
    key = "/".join(["k" * 249] * 4)
    try:
        with pytest.raises(InvalidKey, match="longer than S3's 1024"):
            store.put(key, b"x")
    finally:
        store.close()


# --- failures --------------------------------------------------------------------------


def every_call(store: S3Store, tmp_path: Path) -> dict[str, Callable[[], object]]:
    """Each method of the store that talks to S3, ready to call."""
    (tmp_path / "source").write_bytes(b"x")
    return {
        "put": lambda: store.put("k", b"x"),
        "put_file": lambda: store.put_file("k", tmp_path / "source"),
        "get": lambda: store.get("k"),
        "open": lambda: store.open("k"),
        "size": lambda: store.size("k"),
        "delete": lambda: store.delete("k"),
        "iterate": lambda: list(store.iterate()),
    }


def test_missing_bucket_is_a_configuration_error_naming_it(
    s3_server: S3Server, tmp_path: Path
) -> None:
    store = S3Store("darkroom-test-no-such-bucket", endpoint_url=s3_server.endpoint, region=REGION)
    try:
        calls = every_call(store, tmp_path)
        # A HEAD request gets a bare 404 for a missing bucket and for a missing key alike.
        del calls["size"]
        assert not store.exists("k")
        for name, call in calls.items():
            with pytest.raises(S3Misconfigured) as caught:
                call()
            assert "'darkroom-test-no-such-bucket'" in caught.value.message, name
            assert "does not exist" in caught.value.message, name
            assert isinstance(caught.value, errors.ConfigurationError)
            assert not caught.value.retryable
            assert isinstance(caught.value.__cause__, ClientError)
    finally:
        store.close()


def test_stopped_server_is_storage_unavailable_quickly(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    store = S3Store(s3_bucket, endpoint_url=s3_server.endpoint, region=REGION, config=IMPATIENT)
    store.put("k", b"before")
    calls = every_call(store, tmp_path)
    calls["exists"] = lambda: store.exists("k")
    s3_server.stop()
    try:
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(errors.StorageUnavailable) as caught:
                call()
            assert time.monotonic() - started < 3, name
            assert caught.value.retryable
            assert isinstance(caught.value.__cause__, BotoCoreError), name
        # Signing needs no server: URLs are still handed out.
        assert store.url("k").startswith(s3_server.endpoint)
    finally:
        s3_server.restart(s3_bucket)
    # moto comes back empty but with the bucket, and the same store works again.
    assert list(store.iterate()) == []
    store.put("k", b"after")
    assert store.get("k") == b"after"
    store.close()


@pytest.mark.usefixtures("aws_credentials")
def test_server_that_never_answers_times_out_as_storage_unavailable() -> None:
    # Connections complete in the kernel's backlog, but no response ever comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        store = S3Store("bucket", endpoint_url=endpoint, region=REGION, config=IMPATIENT)
        try:
            started = time.monotonic()
            with pytest.raises(errors.StorageUnavailable, match="ReadTimeoutError"):
                store.get("k")
            assert time.monotonic() - started < 3
        finally:
            store.close()


def test_missing_credentials_are_a_configuration_error(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "absent"))
    store = S3Store(s3_bucket, endpoint_url=s3_server.endpoint, region=REGION)
    try:
        with pytest.raises(S3Misconfigured, match="AWS_ACCESS_KEY_ID") as caught:
            store.put("k", b"x")
        assert s3_bucket in caught.value.message
    finally:
        store.close()


def client_error(code: str, status: int) -> ClientError:
    """The error botocore raises for an S3 answer with this code and HTTP status."""
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} from the server"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")


@pytest.mark.parametrize(
    ("error", "expected", "hint"),
    [
        (client_error("NoSuchKey", 404), errors.NotFound, "'some/key'"),
        (client_error("404", 404), errors.NotFound, "'some/key'"),
        (client_error("NoSuchBucket", 404), S3Misconfigured, "does not exist"),
        (client_error("AccessDenied", 403), S3Misconfigured, "access denied"),
        (client_error("403", 403), S3Misconfigured, "access denied"),
        (client_error("InvalidAccessKeyId", 403), S3Misconfigured, "AWS_ACCESS_KEY_ID"),
        (client_error("SignatureDoesNotMatch", 403), S3Misconfigured, "AWS_SECRET_ACCESS_KEY"),
        (client_error("PermanentRedirect", 301), S3Misconfigured, "DARKROOM_S3_REGION"),
        (client_error("SlowDown", 503), errors.StorageUnavailable, "SlowDown"),
        (client_error("ServiceUnavailable", 503), errors.StorageUnavailable, "unavailable"),
        (client_error("InternalError", 500), errors.StorageUnavailable, "InternalError"),
        (client_error("500", 500), errors.StorageUnavailable, "500"),
        (client_error("RequestTimeout", 400), errors.StorageUnavailable, "RequestTimeout"),
        (client_error("Unforeseen", 400), errors.StorageUnavailable, "Unforeseen"),
        (NoCredentialsError(), S3Misconfigured, "AWS_ACCESS_KEY_ID"),
        (EndpointConnectionError(endpoint_url="http://s3"), errors.StorageUnavailable, ""),
        (ConnectTimeoutError(endpoint_url="http://s3"), errors.StorageUnavailable, ""),
        (ReadTimeoutError(endpoint_url="http://s3"), errors.StorageUnavailable, ""),
        (ConnectionClosedError(endpoint_url="http://s3"), errors.StorageUnavailable, ""),
        (ResponseStreamingError(error="reset"), errors.StorageUnavailable, ""),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_translate_error(
    error: ClientError | BotoCoreError, expected: type[errors.DarkroomError], hint: str
) -> None:
    translated = translate_error(error, "the-bucket", "some/key")
    assert type(translated) is expected
    assert hint in translated.message
    if expected is not errors.NotFound:
        assert "'the-bucket'" in translated.message
    assert translated.retryable == (expected is errors.StorageUnavailable)
