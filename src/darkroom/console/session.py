"""The console's session cookie and CSRF tokens: HMAC-signed, stateless, nothing stored.

A session names the API key it was opened with by the key's id (never the key itself), so
a stolen database (which holds key hashes) cannot forge one, and a revoked key ends every
session it opened at the next request. The open mode's sessions name no key. The CSRF
token of a session is derived from its random nonce, so it changes with each sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

COOKIE = "darkroom_console"
"""The session cookie's name."""
LIFETIME_SECONDS = 12 * 3600
"""How long a session lasts after sign-in."""
_VERSION = "v1"
_OPEN = "-"  # the key id of an open-mode session


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser: the key it signed in with (None in the open mode), and when it ends."""

    key_id: str | None
    expires: int
    nonce: str


class Sessions:
    """Issues and reads session cookies and their CSRF tokens under one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def open(self, key_id: str | None, *, now: float | None = None) -> tuple[Session, str]:
        """A new session for `key_id` and its cookie value."""
        expires = int(now if now is not None else time.time()) + LIFETIME_SECONDS
        session = Session(key_id, expires, secrets.token_urlsafe(16))
        body = f"{_VERSION}.{key_id or _OPEN}.{expires}.{session.nonce}"
        return session, f"{body}.{self._mac(body)}"

    def read(self, cookie: str | None, *, now: float | None = None) -> Session | None:
        """The session of a cookie value; None when it is missing, forged or expired."""
        if not cookie:
            return None
        body, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        parts = body.split(".")
        if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
            return None
        _, key_id, expires, nonce = parts
        if int(expires) <= (now if now is not None else time.time()):
            return None
        return Session(None if key_id == _OPEN else key_id, int(expires), nonce)

    def csrf_token(self, nonce: str) -> str:
        """The CSRF token that every form and script of a session (or sign-in page) sends."""
        return self._mac(f"csrf.{nonce}")

    def csrf_ok(self, nonce: str, token: str | None) -> bool:
        """Whether `token` is the CSRF token of `nonce`."""
        return token is not None and hmac.compare_digest(token, self.csrf_token(nonce))

    def _mac(self, message: str) -> str:
        digest = hmac.new(self._secret, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_nonce() -> str:
    """A random nonce, for the sign-in page's CSRF cookie."""
    return secrets.token_urlsafe(16)
