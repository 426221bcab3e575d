"""Helpers for applications that talk to Darkroom: signed render URLs, webhook checks."""

from __future__ import annotations

from darkroom import webhook_signing
from darkroom.signing import sign


def sign_url(url_or_path: str, key: str | bytes) -> str:
    """Sign a render URL or path with `key` (the first of DARKROOM_SIGNING_KEYS).

    >>> sign_url("/v1/render/ID?w=300", "darkroom-test-key-0123456789")  # doctest: +ELLIPSIS
    '/v1/render/ID?w=300&sig=...'

    A full URL works too and keeps its scheme and host; only the path and query are
    signed, and an existing `sig` is replaced.
    """
    return sign(url_or_path, key)


def verify_webhook(
    secret: str | bytes,
    header: str,
    body: bytes,
    tolerance: float = webhook_signing.DEFAULT_TOLERANCE,
) -> int:
    """Check a webhook delivery: its `Darkroom-Signature` header against the raw body.

    Returns the signing time (Unix seconds); raises `darkroom.errors.Forbidden`, saying
    why, for a malformed header, a signature that does not match, or one older (or
    newer) than `tolerance` seconds, which is how replays are refused.
    """
    return webhook_signing.verify(secret, header, body, tolerance=tolerance)
