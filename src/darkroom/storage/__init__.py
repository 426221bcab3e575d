"""Object storage: one small interface, backends side by side, opened from a URL."""

from __future__ import annotations

from pathlib import Path

from darkroom.storage.base import ObjectStore, UnsupportedStorage
from darkroom.storage.keys import (
    InvalidKey,
    cache_key,
    is_profile_name,
    is_valid_key,
    original_key,
    validate_key,
    variant_key,
)
from darkroom.storage.local import LocalStore

__all__ = [
    "InvalidKey",
    "LocalStore",
    "ObjectStore",
    "UnsupportedStorage",
    "cache_key",
    "is_profile_name",
    "is_valid_key",
    "open_store",
    "original_key",
    "validate_key",
    "variant_key",
]


def open_store(url: str) -> ObjectStore:
    """The store a storage URL names: `file://relative/dir` or `file:///absolute/dir`.

    Everything after `file://` is the directory, taken verbatim: a leading `/` makes it
    absolute, anything else is relative to the working directory (resolved now, once).
    """
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if separator and scheme == "file":
        if not rest:
            raise UnsupportedStorage(f"Storage URL {url!r} names no directory.")
        return LocalStore(Path(rest))
    if separator and scheme == "s3":
        raise UnsupportedStorage(
            "S3 storage (s3://) is not available in this version of Darkroom yet; "
            "use a file:// storage URL."
        )
    raise UnsupportedStorage(
        f"Unsupported storage URL {url!r}: use file://relative/dir or file:///absolute/dir."
    )
