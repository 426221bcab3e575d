"""The object-store interface every storage backend implements."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import BinaryIO, Protocol, runtime_checkable

from darkroom.errors import ConfigurationError

StrPath = str | os.PathLike[str]


class UnsupportedStorage(ConfigurationError):
    """The storage URL names a backend this installation cannot open."""

    code = "unsupported_storage"
    default_message = "The configured object storage is not supported."


class ObjectStore(Protocol):
    """Bytes under keys. Keys follow `storage.keys`; every method validates them.

    A missing key raises `darkroom.errors.NotFound`; a failure of the backend itself raises
    `darkroom.errors.StorageUnavailable`; an invalid key raises `storage.keys.InvalidKey`.
    """

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key`, replacing any object there; readers never see a part."""
        ...

    def put_file(
        self, key: str, source: StrPath | BinaryIO, content_type: str | None = None
    ) -> None:
        """Store a file's content, streamed from a path or an open binary file object.

        A file object is read from its current position to its end and left open. Errors
        raised while reading the source propagate unchanged, and nothing is stored.
        """
        ...

    def get(self, key: str) -> bytes:
        """The whole object."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A reader streaming the object; the caller closes it (it is a context manager)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
        ...

    def size(self, key: str) -> int:
        """The object's length in bytes."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    def url(self, key: str) -> str | None:
        """A URL clients can fetch the object from directly, or None if there is none."""
        ...

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with `prefix` (a plain string prefix, as in S3), sorted.

        Only whole objects: what an interrupted write left behind is never listed.
        """
        ...

    def sweep(self, older_than: timedelta) -> int:
        """Remove what interrupted writes (a killed process) left behind and last wrote to
        over `older_than` ago; objects are never touched. How many leftovers were removed.

        Pass at least the longest a write may pause (a lease), so that no write in progress
        is cut short.
        """
        ...


@runtime_checkable
class PresigningStore(Protocol):
    """A store that can hand out URLs which others use without credentials of their own (S3).

    Direct uploads and credential-less workers need one; a local folder is not one.
    """

    def presigned_get_url(self, key: str, expires_in: int) -> str:
        """A URL that reads the object with a plain HTTP GET for `expires_in` seconds."""
        ...

    def presigned_head_url(self, key: str, expires_in: int) -> str:
        """A URL that asks whether the object exists with a plain HTTP HEAD."""
        ...

    def presigned_put_url(
        self,
        key: str,
        content_type: str | None = None,
        expires_in: int | None = None,
        content_length: int | None = None,
    ) -> str:
        """A URL that writes the object with a plain HTTP PUT for `expires_in` seconds.

        With `content_type` and `content_length`, the PUT must send exactly those headers:
        both are signed, so the store refuses any other type or size.
        """
        ...

    def presigned_delete_url(self, key: str, expires_in: int) -> str:
        """A URL that deletes the object with a plain HTTP DELETE for `expires_in` seconds."""
        ...

    def has_credentials(self) -> bool:
        """Whether this process holds credentials to sign with (or to call the store)."""
        ...
