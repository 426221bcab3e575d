"""Allow-list patterns and the validation of a fetch policy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from darkroom.fetch import FetchPolicy, host_matches


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("images.example.com", "images.example.com", True),
        ("images.example.com", "IMAGES.Example.COM", True),
        ("Images.Example.com", "images.example.com.", True),
        ("images.example.com", "other.example.com", False),
        ("images.example.com", "a.images.example.com", False),
        ("images.example.com", "images.example.com.evil.test", False),
        ("images.example.com", "evilimages.example.com", False),
        ("*.cdn.example.com", "a.cdn.example.com", True),
        ("*.cdn.example.com", "a.b.cdn.example.com", True),
        ("*.cdn.example.com", "cdn.example.com", False),
        ("*.cdn.example.com", "evilcdn.example.com", False),
        ("*.cdn.example.com", "cdn.example.com.evil.test", False),
        ("*.CDN.example.com", "A.cdn.EXAMPLE.com.", True),
        ("bücher.example", "xn--bcher-kva.example", True),
        ("xn--bcher-kva.example", "BÜCHER.example", True),
        ("*.bücher.example", "img.xn--bcher-kva.example", True),
        ("*.bücher.example", "bücher.example", False),
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.1", "127.0.0.2", False),
        ("127.0.0.1", "localhost", False),
        ("127.0.0.1", "::ffff:127.0.0.1", False),
        ("::1", "[::1]", True),
        ("[::1]", "0:0:0:0:0:0:0:1", True),
        ("fd00::1", "FD00:0::1", True),
        ("localhost", "localhost", True),
    ],
)
def test_host_patterns(pattern: str, host: str, expected: bool) -> None:
    assert host_matches(pattern, host) is expected


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("*", "leading '*.'"),
        ("*.", "not a valid host"),
        ("img*.example.com", "leading '*.'"),
        ("*.*.example.com", "leading '*.'"),
        ("10.0.0.0/8", "ranges are not supported"),
        ("*.10.0.0.1", "not an IP address"),
        ("127.1", "a.b.c.d"),
        ("0x7f000001", "a.b.c.d"),
        ("images.example.com:0", "not a valid TCP port"),
        ("images.example.com:99999", "not a valid TCP port"),
        ("images.example.com:http", "not a valid host"),
        ("exa mple.com", "not a valid host"),
        ("-leading.example.com", "not a valid host"),
        ("a..b", "not a valid host"),
        ("", "not a valid host"),
    ],
)
def test_bad_patterns_are_refused_when_the_policy_is_built(pattern: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        FetchPolicy(allow_hosts=(pattern,))


def test_the_policy_keeps_patterns_normalised() -> None:
    policy = FetchPolicy(allow_hosts=("Bücher.Example.", "*.CDN.example.com", "[::1]"))
    assert policy.allow_hosts == ("xn--bcher-kva.example", "*.cdn.example.com", "::1")
    assert policy.allows_host("img.cdn.example.com")
    assert not policy.allows_host("cdn.example.com")


@pytest.mark.parametrize(
    "options",
    [
        {"connect_timeout": 0},
        {"read_timeout": -1},
        {"total_timeout": float("nan")},
        {"total_timeout": float("inf")},
        {"max_bytes": 0},
        {"max_redirects": -1},
        {"schemes": ("ftp",)},
        {"schemes": ()},
        {"ports": (0,)},
        {"ports": (65536,)},
    ],
)
def test_nonsensical_limits_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        FetchPolicy(**options)


def test_defaults() -> None:
    policy = FetchPolicy()
    assert (policy.schemes, policy.ports, policy.max_redirects) == (("http", "https"), None, 3)
    assert not policy.require_allow_list
    assert policy.allow_hosts == ()


def test_entries_name_origins_a_bare_host_only_its_default_ports() -> None:
    policy = FetchPolicy(allow_hosts=("Img.Test", "*.cdn.test:8443", "[::1]:9000"))
    assert policy.allow_hosts == ("img.test", "*.cdn.test:8443", "[::1]:9000")
    assert policy.allows_origin("http", "img.test", 80)
    assert policy.allows_origin("https", "img.test", 443)
    assert not policy.allows_origin("http", "img.test", 8080)  # no probing of other ports
    assert not policy.allows_origin("http", "img.test", 443)
    assert policy.allows_origin("https", "eu.cdn.test", 8443)
    assert not policy.allows_origin("https", "eu.cdn.test", 443)
    assert policy.allows_origin("http", "::1", 9000)
    assert policy.allows_host("img.test")
    assert policy.allows_host("eu.cdn.test")
