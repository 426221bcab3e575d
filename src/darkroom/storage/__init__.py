"""Object storage: one small interface, backends side by side, opened from a URL."""

from __future__ import annotations

from pathlib import Path

from darkroom.storage.base import ObjectStore, PresigningStore, UnsupportedStorage
from darkroom.storage.keys import (
    InvalidKey,
    cache_key,
    is_profile_name,
    is_valid_key,
    logo_key,
    original_key,
    remote_source_key,
    upload_key,
    validate_key,
    variant_key,
)
from darkroom.storage.local import LocalStore

__all__ = [
    "InvalidKey",
    "LocalStore",
    "ObjectStore",
    "PresigningStore",
    "UnsupportedStorage",
    "cache_key",
    "is_profile_name",
    "is_valid_key",
    "logo_key",
    "open_store",
    "original_key",
    "remote_source_key",
    "upload_key",
    "validate_key",
    "variant_key",
]


def open_store(
    url: str, *, s3_endpoint_url: str | None = None, s3_region: str | None = None
) -> ObjectStore:
    """The store a storage URL names: `file://dir` or `s3://bucket/optional/prefix`.

    Everything after `file://` is the directory, taken verbatim: a leading `/` makes it
    absolute, anything else is relative to the working directory (resolved now, once).
    An `s3://` URL names the bucket and a key prefix only; the endpoint and region come
    from the arguments and the credentials from the standard AWS chain.
    """
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if separator and scheme == "file":
        if not rest:
            raise UnsupportedStorage(f"Storage URL {url!r} names no directory.")
        return LocalStore(Path(rest))
    if separator and scheme == "s3":
        return _open_s3(url, rest, s3_endpoint_url, s3_region)
    raise UnsupportedStorage(
        f"Unsupported storage URL {url!r}: use file://relative/dir, file:///absolute/dir "
        "or s3://bucket/prefix."
    )


def _open_s3(url: str, rest: str, endpoint_url: str | None, region: str | None) -> ObjectStore:
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise UnsupportedStorage(f"Storage URL {url!r} names no bucket: use s3://bucket/prefix.")
    try:
        # Imported here: boto3 is an optional extra, needed only by S3 deployments.
        from darkroom.storage.s3 import S3Store
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in ("boto3", "botocore", "s3transfer"):
            raise
        raise UnsupportedStorage(
            f"Storage URL {url!r} needs boto3, which is not installed: "
            "pip install 'darkroom-images[s3]'."
        ) from exc
    try:
        return S3Store(bucket, prefix, endpoint_url=endpoint_url, region=region)
    except InvalidKey as exc:
        raise UnsupportedStorage(
            f"Storage URL {url!r}: the prefix after the bucket must be a valid key ({exc.message})."
        ) from exc
