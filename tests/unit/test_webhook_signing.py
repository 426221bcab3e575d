"""Webhook signatures: the documented construction, replay window and secret rotation."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from darkroom import errors
from darkroom.client import verify_webhook
from darkroom.webhook_signing import sign, verify

SECRET = "whsec-test-0123456789abcdef"
BODY = b'{"id":"evt","type":"image.done"}'
T = 1_767_000_000


def test_the_header_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, timestamp=T) == f"t={T},v1={expected}"
    # The vector docs/operations.md gives, so that other languages can be checked against it.
    assert sign("secret-key-for-docs-1234", b"{}", timestamp=1_700_000_000) == (
        "t=1700000000,v1=a929991e89d6bb263e1eebd3f8da4778fabfdbec233cbfbedaac5661b6081ebe"
    )


def test_a_fresh_delivery_verifies() -> None:
    assert verify(SECRET, sign(SECRET, BODY, timestamp=T), BODY, now=T + 299) == T


@pytest.mark.parametrize(
    ("header", "body", "now", "says"),
    [
        (sign(SECRET, BODY, timestamp=T), BODY + b" ", T, "does not match"),
        (sign("another-secret-entirely-00", BODY, timestamp=T), BODY, T, "does not match"),
        (sign(SECRET, BODY, timestamp=T), BODY, T + 301, "outside the 300 s tolerance"),
        (sign(SECRET, BODY, timestamp=T), BODY, T - 301, "outside the 300 s tolerance"),
        ("v1=abc", BODY, T, "must look like"),
        (f"t={T}", BODY, T, "must look like"),
        ("", BODY, T, "must look like"),
    ],
)
def test_tampered_stale_or_malformed_deliveries_are_refused(
    header: str, body: bytes, now: int, says: str
) -> None:
    with pytest.raises(errors.Forbidden, match=says):
        verify(SECRET, header, body, now=now)


def test_one_matching_signature_is_enough_during_rotation() -> None:
    old = sign("the-old-secret-000000000", BODY, timestamp=T).split(",")[1]
    header = f"{sign(SECRET, BODY, timestamp=T)},{old}"
    assert verify("the-old-secret-000000000", header, BODY, now=T) == T
    assert verify(SECRET, header, BODY, now=T) == T


def test_the_client_helper_checks_against_the_clock() -> None:
    assert verify_webhook(SECRET, sign(SECRET, BODY), BODY) > 0
    with pytest.raises(errors.Forbidden):
        verify_webhook(SECRET, sign(SECRET, BODY, timestamp=T), BODY)  # long ago
