"""`S3Store`: objects in an S3-compatible bucket (AWS S3, MinIO, R2...) through boto3."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from darkroom.errors import NotFound
from darkroom.storage._keep_open import KeepOpen
from darkroom.storage._s3_errors import S3Misconfigured, translate_error
from darkroom.storage.base import ObjectStore, StrPath
from darkroom.storage.keys import (
    MAX_KEY_LENGTH,
    InvalidKey,
    is_valid_key,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from botocore.response import StreamingBody
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import MultipartUploadTypeDef

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_CONFIG",
    "LIST_PAGE_SIZE",
    "MULTIPART_THRESHOLD",
    "URL_EXPIRES_IN",
    "S3Misconfigured",
    "S3Store",
    "translate_error",
]

MiB = 1024 * 1024
CHUNK_SIZE = 1 * MiB
"""Read buffer of `open()` readers."""
MULTIPART_THRESHOLD = 8 * MiB
"""Files at least this large are uploaded in parts of this size (S3's minimum part is 5 MiB)."""
URL_EXPIRES_IN = 3600
"""Lifetime of presigned URLs, in seconds."""
LIST_PAGE_SIZE = 1000
"""Keys asked for per listing request; 1,000 is S3's maximum."""
# Bounds an upload's memory to this many parts, read ahead and sent at once (s3transfer
# would hold 10): 32 MiB with the default part size.
_UPLOAD_PARTS_IN_MEMORY = 4

DEFAULT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    # One quick retry for a dropped connection; the service's retry policy (with backoff
    # measured in seconds, and a dead letter at the end) handles anything longer.
    retries={"total_max_attempts": 2, "mode": "standard"},
    signature_version="s3v4",
    # Enough for a worker's threads plus a multipart upload's parallel parts.
    max_pool_connections=20,
    # botocore >= 1.36 adds checksum headers to every upload by default, which several
    # S3-compatible servers refuse (boto/boto3#4392); TLS already protects the bytes.
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)
"""botocore settings of the clients `S3Store` creates; a `config` argument overrides them."""

# botocore's own bucket-name rule: looser than AWS's current one, so that legacy bucket
# names and S3-compatible servers with other rules are not refused here.
_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")


class S3Store(ObjectStore):
    """Objects in an S3 bucket, each key below an optional `prefix` (joined with `/`).

    Credentials come from the standard AWS chain (environment, profile, instance or task
    role), never from the storage URL. Uploads of `multipart_threshold` bytes or more go
    in parts, streamed from the source; a reader sees the old object or the new one,
    never a part, as S3 itself guarantees.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: S3Client | None = None,
        config: Config | None = None,
        multipart_threshold: int = MULTIPART_THRESHOLD,
        url_expires_in: int = URL_EXPIRES_IN,
    ) -> None:
        if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket):
            raise S3Misconfigured(f"Invalid S3 bucket name {bucket!r}.")
        validate_prefix(prefix)
        self._bucket = bucket
        self._prefix = f"{prefix.removesuffix('/')}/" if prefix else ""
        self._url_expires_in = url_expires_in
        self._has_credentials: bool | None = None
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_threshold,
            max_concurrency=_UPLOAD_PARTS_IN_MEMORY,
        )
        # Not a constructor argument of boto3's TransferConfig, only of s3transfer's.
        self._transfer.max_in_memory_upload_chunks = _UPLOAD_PARTS_IN_MEMORY
        self._owns_client = client is None
        if client is None:
            merged = DEFAULT_CONFIG
            if endpoint_url:
                # MinIO and most S3-compatible servers serve buckets under the path, not
                # as a host name that would need DNS.
                merged = merged.merge(Config(s3={"addressing_style": "path"}))
            if config is not None:
                merged = merged.merge(config)
            with self._calling(None):
                # A session of its own: boto3's default session is not thread-safe.
                client = boto3.session.Session().client(
                    "s3", endpoint_url=endpoint_url, region_name=region, config=merged
                )
        self._client: S3Client = client

    def __repr__(self) -> str:
        return f"S3Store({f's3://{self._bucket}/{self._prefix}'!r})"

    @property
    def bucket(self) -> str:
        """The bucket holding the objects."""
        return self._bucket

    @property
    def prefix(self) -> str:
        """The store's prefix inside the bucket: empty, or ending with `/`."""
        return self._prefix

    def close(self) -> None:
        """Close the HTTP connections of the client this store created (not a given one)."""
        if self._owns_client:
            self._client.close()

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key` in one request, replacing any object there."""
        name = self._name(key)
        with self._calling(key):
            if content_type:
                self._client.put_object(
                    Bucket=self._bucket, Key=name, Body=data, ContentType=content_type
                )
            else:
                self._client.put_object(Bucket=self._bucket, Key=name, Body=data)

    def put_file(
        self, key: str, source: StrPath | BinaryIO, content_type: str | None = None
    ) -> None:
        """Stream a file (a path, or an open binary file object) to `key`, in parts if large."""
        name = self._name(key)
        if isinstance(source, str | os.PathLike):
            with Path(source).open("rb") as reader:
                self._upload(key, name, reader, content_type)
        else:
            self._upload(key, name, source, content_type)

    def get(self, key: str) -> bytes:
        """The whole object."""
        name = self._name(key)
        with self._calling(key):
            body = self._client.get_object(Bucket=self._bucket, Key=name)["Body"]
            with contextlib.closing(body):
                return body.read()

    def open(self, key: str) -> BinaryIO:
        """A buffered reader streaming the object; the caller closes it."""
        name = self._name(key)
        with self._calling(key):
            body = self._client.get_object(Bucket=self._bucket, Key=name)["Body"]
        return io.BufferedReader(_BodyReader(self, key, body), buffer_size=CHUNK_SIZE)

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`.

        A missing bucket also answers False (and `size` NotFound): S3 answers a HEAD request
        with a bare 404 for both. The other methods report the missing bucket.
        """
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        """The object's length in bytes."""
        name = self._name(key)
        with self._calling(key):
            return self._client.head_object(Bucket=self._bucket, Key=name)["ContentLength"]

    def delete(self, key: str) -> None:
        """Remove the object; S3 itself answers a delete of a missing key with success."""
        name = self._name(key)
        with self._calling(key):
            self._client.delete_object(Bucket=self._bucket, Key=name)

    def url(self, key: str) -> str:
        """A presigned GET URL of the object, valid for `url_expires_in` seconds."""
        name = self._name(key)
        with self._calling(key):
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self._bucket, "Key": name},
                ExpiresIn=self._url_expires_in,
            )

    def presigned_get_url(self, key: str, expires_in: int) -> str:
        """A presigned GET URL of the object, valid for `expires_in` seconds."""
        return self._presign("get_object", key, {}, expires_in)

    def presigned_head_url(self, key: str, expires_in: int) -> str:
        """A presigned HEAD URL of the object, valid for `expires_in` seconds."""
        return self._presign("head_object", key, {}, expires_in)

    def presigned_put_url(
        self,
        key: str,
        content_type: str | None = None,
        expires_in: int | None = None,
        content_length: int | None = None,
    ) -> str:
        """A presigned PUT URL, so a client or worker can upload without credentials.

        With `content_type` (and `content_length`), the upload must send exactly that
        `Content-Type` (and `Content-Length`) header: both are signed, so S3 refuses the
        request when either differs.
        """
        params: dict[str, str | int] = {}
        if content_type:
            params["ContentType"] = content_type
        if content_length is not None:
            params["ContentLength"] = content_length
        return self._presign("put_object", key, params, expires_in)

    def presigned_delete_url(self, key: str, expires_in: int) -> str:
        """A presigned DELETE URL of the object, valid for `expires_in` seconds."""
        return self._presign("delete_object", key, {}, expires_in)

    def has_credentials(self) -> bool:
        """Whether the AWS credential chain gave this store's client credentials."""
        if self._has_credentials is None:
            # Signing is local: a client without credentials refuses to sign, which is the
            # cheapest way to ask the chain without a request to the store.
            try:
                self._client.generate_presigned_url(
                    "head_bucket", Params={"Bucket": self._bucket}, ExpiresIn=1
                )
            except (BotoCoreError, ClientError):
                self._has_credentials = False
            else:
                self._has_credentials = True
        return self._has_credentials

    def _presign(
        self, operation: str, key: str, extra: dict[str, str | int], expires_in: int | None
    ) -> str:
        params: dict[str, str | int] = {"Bucket": self._bucket, "Key": self._name(key), **extra}
        with self._calling(key):
            return self._client.generate_presigned_url(
                operation,
                Params=params,
                ExpiresIn=expires_in if expires_in is not None else self._url_expires_in,
            )

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with `prefix`, sorted; listed page by page as it is consumed."""
        validate_prefix(prefix)
        return self._list(self._prefix + prefix)

    def sweep(self, older_than: timedelta) -> int:
        """Abort this store's multipart uploads last written to over `older_than` ago.

        A process killed during a large `put_file` leaves its upload incomplete: invisible
        to listings and reads, but its parts are stored (and billed) until it is aborted.
        An upload's last write is its newest part (or its start, before any part), so a
        long upload still sending parts is left alone. Only uploads under the store's
        prefix, to keys the store could name, are touched.
        """
        cutoff = _now() - older_than
        aborted = 0
        for upload in list(self._uploads()):
            name, upload_id = upload["Key"], upload["UploadId"]
            key = name[len(self._prefix) :]
            if upload["Initiated"] >= cutoff or not is_valid_key(key):
                continue
            try:
                if self._last_part_written(name, upload_id) >= cutoff:
                    continue
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=name, UploadId=upload_id
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                    continue  # completed or aborted meanwhile
                raise translate_error(exc, self._bucket, key) from exc
            except BotoCoreError as exc:
                raise translate_error(exc, self._bucket, key) from exc
            aborted += 1
        return aborted

    def _last_part_written(self, name: str, upload_id: str) -> datetime:
        newest = datetime.min.replace(tzinfo=UTC)
        paginator = self._client.get_paginator("list_parts")
        for page in paginator.paginate(Bucket=self._bucket, Key=name, UploadId=upload_id):
            for part in page.get("Parts", ()):
                newest = max(newest, part["LastModified"])
        return newest

    def _uploads(self) -> Iterator[MultipartUploadTypeDef]:
        paginator = self._client.get_paginator("list_multipart_uploads")
        pages = iter(paginator.paginate(Bucket=self._bucket, Prefix=self._prefix))
        while True:
            with self._calling(None):
                page = next(pages, None)
            if page is None:
                return
            yield from page.get("Uploads", ())

    def _name(self, key: str) -> str:
        name = self._prefix + validate_key(key)
        if len(name) > MAX_KEY_LENGTH:
            raise InvalidKey(
                f"storage key {key!r} under prefix {self._prefix!r} is longer than "
                f"S3's {MAX_KEY_LENGTH} characters"
            )
        return name

    def _upload(self, key: str, name: str, source: BinaryIO, content_type: str | None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        # Only botocore's errors are translated: the source's own errors reach the caller
        # unchanged, and a failed multipart upload is aborted, so nothing is stored.
        with self._calling(key):
            self._client.upload_fileobj(
                # s3transfer reads it as a file; the stubs know only typing.IO.
                cast("BinaryIO", KeepOpen(source)),
                self._bucket,
                name,
                ExtraArgs=extra,
                Config=self._transfer,
            )

    def _list(self, full_prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        pages = iter(
            paginator.paginate(
                Bucket=self._bucket,
                Prefix=full_prefix,
                PaginationConfig={"PageSize": LIST_PAGE_SIZE},
            )
        )
        start = len(self._prefix)
        while True:
            with self._calling(None):
                page = next(pages, None)
            if page is None:
                return
            # S3 lists keys in UTF-8 byte order, which for our ASCII keys is string order.
            for item in page.get("Contents", ()):
                key = item["Key"][start:]
                # Objects no key could name (console folder markers, foreign uploads)
                # are not ours.
                if is_valid_key(key):
                    yield key

    @contextlib.contextmanager
    def _calling(self, key: str | None) -> Iterator[None]:
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            raise translate_error(exc, self._bucket, key) from exc


def _now() -> datetime:
    """The current time, as S3 dates uploads (timezone-aware UTC)."""
    return datetime.now(UTC)


class _BodyReader(io.RawIOBase):
    """An object's streaming body as a raw reader whose failures are Darkroom errors."""

    def __init__(self, store: S3Store, key: str, body: StreamingBody) -> None:
        self._store = store
        self._key = key
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        with self._store._calling(self._key):
            # read(n), not readinto(): botocore's stubs type readinto's argument as a file.
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        # In one call, not in the small steps io.RawIOBase.readall would take.
        with self._store._calling(self._key):
            return self._body.read()

    def close(self) -> None:
        if not self.closed:
            # Releases the HTTP connection even when the object was not read to its end.
            self._body.close()
        super().close()
