"""Signed render URLs: HMAC-SHA256 over the canonical path and query.

The signed ("canonical") string is built from the path and query exactly as sent, so that
any client can reproduce it (docs/signing.md restates this for other languages):

1. Path: percent-decode it to bytes (a `%` not followed by two hex digits stays a literal
   `%`; `+` is a literal plus), then percent-encode those bytes with uppercase hex, leaving
   only `/` and the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~` as they are.
2. Query: split on `&`, skip empty pieces, split each piece at its first `=` (no `=` means
   an empty value), replace `+` with a space, and percent-decode name and value to bytes.
   Drop every pair named `sig`; keep all others, repeated names included.
3. Sort the pairs by (name, value), comparing the decoded UTF-8 bytes.
4. Percent-encode each name and value, leaving only the unreserved characters as they are,
   and join them as `name=value` with `&`.
5. The canonical string is `path + "?" + query`. The `?` is always present, so a URL
   without parameters signs `path?`; it is ASCII.

`sig` is the URL-safe base64 (alphabet `-` and `_`) of HMAC-SHA256(key, canonical string),
key and string as UTF-8, without `=` padding: always 43 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from urllib.parse import quote, unquote_to_bytes, urlsplit

from darkroom.errors import Forbidden, InvalidRequest

SIG = "sig"
"""The query parameter that carries the signature."""

_SIG = SIG.encode("ascii")
_UNRESERVED = "-._~"
# 43 characters hold 258 bits for the 256 of a SHA-256 digest, so the last character's two
# low bits are zero: only these 16 letters can end a canonical encoding.
_SIGNATURE = re.compile(rb"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")

_MISSING = "This render URL must be signed: add the sig parameter (see README 'Signed URLs')."
_REPEATED = "This render URL carries more than one sig parameter; it must carry exactly one."
_MALFORMED = "The sig parameter of this render URL is not a signature (43 base64url characters)."
_MISMATCH = "The signature of this render URL does not match its path and parameters."

Query = str | Sequence[tuple[str, str]]
"""A raw query string as sent (`w=300&bg=%23fff`), or already-decoded (name, value) pairs."""


def canonical(path: str, query: Query) -> str:
    """The exact string that is signed for `path` and `query` (see the module docstring)."""
    return _canonical(path, _pairs(query))


def signature(key: str | bytes, path: str, query: Query) -> str:
    """The `sig` value of `path` and `query` under `key`."""
    return _mac(key, _canonical(path, _pairs(query))).decode("ascii")


def sign(path_and_query: str, key: str | bytes) -> str:
    """`path_and_query` (or a full URL) with its `sig` parameter set to the signature."""
    if not key:
        raise InvalidRequest("The signing key must not be empty.")
    head, hash_mark, fragment = path_and_query.partition("#")
    base, _, query = head.partition("?")
    path = urlsplit(base).path
    if not path.startswith("/"):
        raise InvalidRequest(
            f"Cannot sign {path_and_query!r}: give a path such as '/v1/render/ID?w=300' "
            "or a full URL."
        )
    # The caller's parameters are kept as written; only an existing signature is replaced.
    kept = [piece for piece in query.split("&") if piece and _name(piece) != _SIG]
    sig = signature(key, path, "&".join(kept))
    return f"{base}?{'&'.join([*kept, f'{SIG}={sig}'])}{hash_mark}{fragment}"


def verify(path: str, query: Query, keys: Sequence[str | bytes]) -> None:
    """Raise `Forbidden` unless `query` carries one `sig` that one of `keys` produces."""
    pairs = _pairs(query)
    given = [value for name, value in pairs if name == _SIG]
    if not given:
        raise Forbidden(_MISSING)
    if len(given) > 1:
        raise Forbidden(_REPEATED)
    if _SIGNATURE.fullmatch(given[0]) is None:
        raise Forbidden(_MALFORMED)
    message = _canonical(path, pairs)
    # Every listed key verifies, so a new key can be put first while URLs signed with the
    # old one are still in circulation.
    if not any(hmac.compare_digest(_mac(key, message), given[0]) for key in keys):
        raise Forbidden(_MISMATCH)


def _pairs(query: Query) -> list[tuple[bytes, bytes]]:
    if not isinstance(query, str):
        return [(_utf8(name), _utf8(value)) for name, value in query]
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((_decode_query(name), _decode_query(value)))
    return pairs


def _canonical(path: str, pairs: list[tuple[bytes, bytes]]) -> str:
    encoded = "&".join(
        f"{quote(name, safe=_UNRESERVED)}={quote(value, safe=_UNRESERVED)}"
        for name, value in sorted(pair for pair in pairs if pair[0] != _SIG)
    )
    return f"{quote(unquote_to_bytes(_utf8(path)), safe='/' + _UNRESERVED)}?{encoded}"


def _mac(key: str | bytes, message: str) -> bytes:
    digest = hmac.new(_utf8(key), message.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=")


def _name(piece: str) -> bytes:
    return _decode_query(piece.partition("=")[0])


def _decode_query(text: str) -> bytes:
    return unquote_to_bytes(_utf8(text.replace("+", " ")))


def _utf8(text: str | bytes) -> bytes:
    # "surrogatepass" keeps this total: a lone surrogate must give a refusal, not a crash.
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
