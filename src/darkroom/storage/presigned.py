"""`PresignedStore`: the few objects a message grants, reached through presigned URLs.

A worker without storage credentials gets, in each message, signed URLs for exactly the
objects that message's work reads and writes; this store serves those keys through plain
HTTP and refuses every other, so a compromised worker reaches nothing else.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import httpx

from darkroom.errors import ImageTooLarge, NotFound, StorageUnavailable
from darkroom.storage.base import ObjectStore, StrPath, UnsupportedStorage
from darkroom.storage.keys import validate_key

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
CHUNK_SIZE = 1024 * 1024

Urls = Mapping[str, Mapping[str, str]]
"""key → {method: presigned URL}, methods among GET, HEAD, PUT, DELETE."""


class PresignedStore(ObjectStore):
    """The granted keys of one message, each with the presigned URL of each allowed method."""

    def __init__(self, urls: Urls, *, max_bytes: int, client: httpx.Client) -> None:
        self._urls = urls
        self._max_bytes = max_bytes
        self._http = client

    def __repr__(self) -> str:
        return f"PresignedStore({len(self._urls)} keys)"

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """PUT the bytes to the key's presigned URL."""
        headers = {"Content-Type": content_type} if content_type else {}
        self._call("PUT", key, content=data, headers=headers)

    def put_file(
        self, key: str, source: StrPath | BinaryIO, content_type: str | None = None
    ) -> None:
        """PUT a file's bytes (read whole: outputs are bounded by the render limits)."""
        if isinstance(source, str | os.PathLike):
            self.put(key, Path(source).read_bytes(), content_type)
        else:
            self.put(key, source.read(), content_type)

    def get(self, key: str) -> bytes:
        """GET the object, refusing one over the input size limit as it streams in."""
        url = self._url("GET", key)
        try:
            with self._http.stream("GET", url) as response:
                self._check(response, "GET", key)
                chunks, total = [], 0
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    total += len(chunk)
                    if total > self._max_bytes:
                        raise ImageTooLarge(
                            f"The object {key!r} is over {self._max_bytes:,} bytes, the limit.",
                            details={"max_bytes": self._max_bytes},
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise StorageUnavailable(f"GET of {key!r} failed: {type(exc).__name__}.") from exc

    def open(self, key: str) -> BinaryIO:
        """A reader over the whole object (read through `get`, under its size limit)."""
        return io.BytesIO(self.get(key))

    def exists(self, key: str) -> bool:
        """Whether the object is stored (a HEAD request)."""
        try:
            self._call("HEAD", key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        """The object's length, from a HEAD request."""
        return int(self._call("HEAD", key).headers.get("content-length", "0"))

    def delete(self, key: str) -> None:
        """DELETE the object (a missing one is not an error: S3 answers 204)."""
        try:
            self._call("DELETE", key)
        except NotFound:
            return

    def url(self, key: str) -> str | None:
        """The granted GET URL of the object, if the grant has one."""
        return self._urls.get(key, {}).get("GET")

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Refused: listing needs storage credentials."""
        raise UnsupportedStorage("Listing objects needs storage credentials; this worker has none.")

    def sweep(self, older_than: timedelta) -> int:
        """Nothing to sweep: a presigned PUT is one request, never left half-written."""
        return 0

    def _url(self, method: str, key: str) -> str:
        url = self._urls.get(validate_key(key), {}).get(method)
        if url is None:
            raise UnsupportedStorage(
                f"The message grants no presigned {method} URL for {key!r}; this worker holds "
                "no storage credentials to reach it otherwise."
            )
        return url

    def _call(
        self,
        method: str,
        key: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = self._url(method, key)
        try:
            response = self._http.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise StorageUnavailable(f"{method} of {key!r} failed: {type(exc).__name__}.") from exc
        self._check(response, method, key)
        return response

    @staticmethod
    def _check(response: httpx.Response, method: str, key: str) -> None:
        if response.status_code < 300:
            return
        if response.status_code == 404:
            raise NotFound(f"No object is stored under {key!r}.")
        # 403 is most often an expired URL: retried until the retry budget runs out, and a
        # replay or the reconciler sends fresh URLs.
        raise StorageUnavailable(
            f"The store refused the presigned {method} of {key!r} (HTTP {response.status_code})."
        )
