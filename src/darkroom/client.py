"""Helpers for applications that call Darkroom."""

from __future__ import annotations

from darkroom.signing import sign


def sign_url(url_or_path: str, key: str | bytes) -> str:
    """Sign a render URL: `sign_url("/v1/render/ID?w=300", key)` appends `&sig=…`."""
    return sign(url_or_path, key)
