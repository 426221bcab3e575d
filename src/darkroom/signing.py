"""Signed render URLs: HMAC-SHA256 over the canonical path and query (see docs/signing.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from darkroom.errors import Forbidden

SIG = "sig"
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")
"""A SHA-256 HMAC in URL-safe base64 without padding."""


def canonical(path: str, query: str | Sequence[tuple[str, str]]) -> str:
    """The signed string: the path, '?', and the sorted, re-encoded parameters but `sig`."""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query)
    kept = sorted((k, v) for k, v in pairs if k != SIG)
    encoded = "&".join(f"{quote(k, safe='-._~')}={quote(v, safe='-._~')}" for k, v in kept)
    return f"{quote(unquote(path), safe='/-._~')}?{encoded}"


def signature(key: str | bytes, path: str, query: str | Sequence[tuple[str, str]]) -> str:
    """URL-safe base64 (no padding) of HMAC-SHA256(key, canonical(path, query))."""
    secret = key.encode("utf-8") if isinstance(key, str) else key
    digest = hmac.new(secret, canonical(path, query).encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign(url: str, key: str | bytes) -> str:
    """`url` (a path with query, or a full URL) with its `sig` parameter set."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SIG]
    sig = signature(key, parts.path, pairs)
    query = "&".join(
        [f"{quote(k, safe='-._~')}={quote(v, safe='-._~,')}" for k, v in pairs] + [f"{SIG}={sig}"]
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def verify(path: str, query: str | Sequence[tuple[str, str]], keys: Sequence[str | bytes]) -> None:
    """Raise Forbidden unless `sig` is the signature of path and query under one of `keys`."""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else list(query)
    given = [v for k, v in pairs if k == SIG]
    if not given:
        raise Forbidden(
            "This render URL must be signed: add the sig parameter (see README 'Signed URLs')."
        )
    if len(given) > 1:
        raise Forbidden("This render URL carries more than one signature.")
    if _SIGNATURE.fullmatch(given[0]) is None:
        raise Forbidden("The signature of this render URL is malformed.")
    for key in keys:
        if hmac.compare_digest(signature(key, path, pairs), given[0]):
            return
    raise Forbidden("The signature of this render URL is not valid for its path and options.")
