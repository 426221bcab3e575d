"""The Python client of Darkroom: `Client`, `AsyncClient`, signed URLs and webhook checks.

It needs only httpx and pydantic (`pip install darkroom-images`, no server extra), and
reads answers into the API's own models (`darkroom.contract`). See docs/client.md.
"""

from __future__ import annotations

from darkroom import webhook_signing
from darkroom.client._async import AsyncClient
from darkroom.client._downloads import Download
from darkroom.client._errors import VariantsFailed, WaitTimeout, error_from_response
from darkroom.client._requests import Source
from darkroom.client._sync import Client
from darkroom.signing import sign

__all__ = [
    "AsyncClient",
    "Client",
    "Download",
    "Source",
    "VariantsFailed",
    "WaitTimeout",
    "error_from_response",
    "sign_url",
    "verify_webhook",
]


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
