"""Object keys: the one validation rule, and the builders that are the only way keys are made.

A key is a relative, `/`-separated path of `[A-Za-z0-9._-]` segments. The rule is strict
enough that every backend can map a key to a file path or an S3 key without escaping, and
keys are never built from user input: the builders below take ids, hashes and validated
profile names only, and reject anything else.
"""

from __future__ import annotations

import re

from darkroom.errors import DarkroomError

MAX_KEY_LENGTH = 1024
"""S3's own limit, in bytes; keys are ASCII so characters and bytes agree."""
MAX_SEGMENT_LENGTH = 255
"""The usual file-name limit of local filesystems."""

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
# Lowercase only: a case-insensitive filesystem must not merge two profiles.
PROFILE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPEC_HASH = re.compile(r"[0-9a-f]{8,64}")
_IMAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EXTENSION = re.compile(r"[a-z0-9]{1,8}")


class InvalidKey(DarkroomError):
    """A storage key, prefix or key part breaks the key rules.

    Keys are built by code, never taken from requests, so this is our bug: it answers 500
    and is not retried, because the same key would be refused again.
    """

    code = "invalid_storage_key"
    default_message = "Invalid storage key."


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a valid object key, else raise `InvalidKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"storage key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"storage key is longer than {MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"storage key {key!r} has an empty, '.' or '..' segment")
        if len(segment) > MAX_SEGMENT_LENGTH or not _SEGMENT.fullmatch(segment):
            raise InvalidKey(
                f"storage key {key!r}: segments are 1-{MAX_SEGMENT_LENGTH} characters "
                "of A-Z, a-z, 0-9, '.', '_', '-'"
            )
    return key


def is_valid_key(key: str) -> bool:
    """Whether `validate_key` accepts `key`."""
    try:
        validate_key(key)
    except InvalidKey:
        return False
    return True


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if it is empty or a key optionally followed by `/`, else raise."""
    if prefix:
        validate_key(prefix.removesuffix("/"))
    return prefix


def is_profile_name(name: str) -> bool:
    """Whether `name` is a valid profile name: lowercase letter first, then a-z 0-9 _ -."""
    return isinstance(name, str) and PROFILE_NAME.fullmatch(name) is not None


def original_key(sha256_hex: str, ext: str) -> str:
    """Content-addressed key of an original: the same bytes always land on the same key."""
    _require(_SHA256, sha256_hex, "sha256 digest (64 lowercase hex digits)")
    _require(_EXTENSION, ext, "file extension")
    # Two levels of fan-out keep directories small on filesystems that slow down past ~10^4.
    return validate_key(f"originals/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}.{ext}")


def variant_key(image_id: str, profile: str, spec_hash: str, ext: str) -> str:
    """Deterministic key of a profile's output: a redelivered transform finds its own work."""
    _require(_IMAGE_ID, image_id, "image id")
    _require(PROFILE_NAME, profile, "profile name")
    _require(_SPEC_HASH, spec_hash, "spec hash")
    _require(_EXTENSION, ext, "file extension")
    return validate_key(f"variants/{image_id}/{profile}-{spec_hash}.{ext}")


def logo_key(name: str, sha256_hex: str, ext: str) -> str:
    """Key of a reference logo's image: a new image of the same name gets a new key."""
    _require(PROFILE_NAME, name, "logo name")
    _require(_SHA256, sha256_hex, "sha256 digest (64 lowercase hex digits)")
    _require(_EXTENSION, ext, "file extension")
    return validate_key(f"logos/{name}-{sha256_hex[:16]}.{ext}")


def cache_key(image_id: str, spec_hash: str, ext: str) -> str:
    """Key of an on-demand render, cached by image and spec."""
    _require(_IMAGE_ID, image_id, "image id")
    _require(_SPEC_HASH, spec_hash, "spec hash")
    _require(_EXTENSION, ext, "file extension")
    return validate_key(f"cache/{image_id}/{spec_hash}.{ext}")


def remote_source_key(scope: str) -> str:
    """Key of a fetched remote original, kept beside the renders made from it."""
    _require(_IMAGE_ID, scope, "cache scope")
    return validate_key(f"cache/{scope}/source.bin")


def upload_key(upload_id: str) -> str:
    """Key a direct upload's client writes to, before the upload is validated and recorded."""
    _require(_IMAGE_ID, upload_id, "upload id")
    return validate_key(f"uploads/{upload_id}")


def _require(pattern: re.Pattern[str], value: str, what: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidKey(f"invalid {what} for a storage key: {value!r}")
