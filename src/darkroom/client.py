"""Helpers for applications that build Darkroom URLs."""

from __future__ import annotations

from darkroom.signing import sign


def sign_url(url_or_path: str, key: str | bytes) -> str:
    """Sign a render URL or path with `key` (the first of DARKROOM_SIGNING_KEYS).

    >>> sign_url("/v1/render/ID?w=300", "darkroom-test-key-0123456789")  # doctest: +ELLIPSIS
    '/v1/render/ID?w=300&sig=...'

    A full URL works too and keeps its scheme and host; only the path and query are
    signed, and an existing `sig` is replaced.
    """
    return sign(url_or_path, key)
