"""The console's session cookies and CSRF tokens: signed, expiring, bound to their session."""

from __future__ import annotations

from darkroom.console.session import LIFETIME_SECONDS, Sessions

NOW = 1_800_000_000.0


def test_a_session_reads_back_with_its_key_and_expiry() -> None:
    sessions = Sessions(b"k" * 32)
    opened, cookie = sessions.open("key-1", now=NOW)
    read = sessions.read(cookie, now=NOW + 60)
    assert read == opened
    assert read is not None
    assert read.key_id == "key-1"
    assert read.expires == int(NOW) + LIFETIME_SECONDS


def test_an_open_mode_session_names_no_key() -> None:
    sessions = Sessions(b"k" * 32)
    _, cookie = sessions.open(None, now=NOW)
    read = sessions.read(cookie, now=NOW)
    assert read is not None
    assert read.key_id is None


def test_forged_expired_and_foreign_cookies_are_refused() -> None:
    sessions = Sessions(b"k" * 32)
    _, cookie = sessions.open("key-1", now=NOW)
    body, _, mac = cookie.rpartition(".")
    assert sessions.read(cookie.replace("key-1", "key-2"), now=NOW) is None
    forged = mac[:-1] + ("B" if mac.endswith("A") else "A")  # the nonce is random: so is mac
    assert sessions.read(f"{body}.{forged}", now=NOW) is None
    assert sessions.read(cookie, now=NOW + LIFETIME_SECONDS) is None
    assert Sessions(b"x" * 32).read(cookie, now=NOW) is None
    for junk in ("", "v1", "....", "v1.a.b.c.d", "v1.key.notanumber.n." + mac):
        assert sessions.read(junk, now=NOW) is None


def test_a_csrf_token_belongs_to_one_session() -> None:
    sessions = Sessions(b"k" * 32)
    first, _ = sessions.open("key-1", now=NOW)
    second, _ = sessions.open("key-1", now=NOW)
    token = sessions.csrf_token(first.nonce)
    assert sessions.csrf_ok(first.nonce, token)
    assert not sessions.csrf_ok(second.nonce, token)
    assert not sessions.csrf_ok(first.nonce, None)
    assert not sessions.csrf_ok(first.nonce, "")
