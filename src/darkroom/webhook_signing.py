"""Signed webhook deliveries: `Darkroom-Signature: t=UNIX_SECONDS,v1=HEX`.

HEX is the lowercase hex HMAC-SHA256, keyed with DARKROOM_WEBHOOK_SECRET (UTF-8), of the
ASCII timestamp, a full stop and the raw request body: `f"{t}.".encode() + body`. The
timestamp is signed with the body so that a captured delivery cannot be replayed later:
receivers refuse deliveries whose `t` is more than `tolerance` seconds (300 by default)
from their own clock. Several `v1=` values may appear while a secret is being rotated;
one matching value is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from darkroom.errors import Forbidden

HEADER = "Darkroom-Signature"
DEFAULT_TOLERANCE = 300


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The v1 value: hex HMAC-SHA256 of `"{timestamp}." + body`."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, *, timestamp: int | None = None) -> str:
    """The Darkroom-Signature header value for `body`, signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str | bytes,
    header: str,
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a delivery's header against its raw body; its timestamp, or Forbidden saying why."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise Forbidden(f"The {HEADER} header must look like t=UNIX_SECONDS,v1=HEX.")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        raise Forbidden(
            f"The webhook was signed {abs(age):.0f} s from now, outside the {tolerance:g} s "
            "tolerance: a replay, or a clock that is off."
        )
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise Forbidden("The webhook signature does not match its body and timestamp.")
    return timestamp
