"""Strict URL parsing: what is refused before any host is even considered."""

from __future__ import annotations

import pytest

from darkroom.errors import InvalidRequest
from darkroom.fetch import FetchForbidden, FetchPolicy
from darkroom.fetch.urls import parse_url


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("ftp://images.example.com/a.jpg", "scheme 'ftp' is not supported"),
        ("file:///etc/passwd", "scheme 'file' is not supported"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme 'gopher' is not supported"),
        ("//images.example.com/a.jpg", "not absolute"),
        ("/a.jpg", "not absolute"),
        ("not a url", "whitespace"),
        ("http://images.example.com/a b.jpg", "whitespace"),
        ("http://images.example.com/a.jpg\r\nX-Injected: 1", "control characters"),
        ("http://evil.test\\@images.example.com/", "backslashes"),
        ("http://user:secret@images.example.com/", "credentials"),
        ("http://user@images.example.com/", "credentials"),
        ("http://@images.example.com/", "credentials"),
        ("http:///a.jpg", "no host"),
        ("http://images.example.com:0/", "port 0"),
        ("http://images.example.com:70000/", "port 70000"),
        ("http://127.1/", "a.b.c.d"),
        ("http://2130706433/", "a.b.c.d"),
        ("http://0x7f.0.0.1/", "a.b.c.d"),
        ("http://exa_mple..com/", "not a valid host"),
        ("http://[::1/", "not a valid URL"),
        ("http://images.example.com/" + "a" * 9000, "longer than"),
    ],
)
def test_bad_urls_are_invalid_requests(url: str, complaint: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_url(url, FetchPolicy())
    assert complaint in caught.value.message
    assert caught.value.status_code == 400


def test_a_scheme_the_policy_leaves_out_is_forbidden() -> None:
    with pytest.raises(FetchForbidden, match="http URLs are not allowed here; use https"):
        parse_url("http://images.example.com/a.jpg", FetchPolicy(schemes=("https",)))


def test_a_port_the_policy_leaves_out_is_forbidden() -> None:
    policy = FetchPolicy(ports=(80, 443))
    assert parse_url("https://images.example.com/a.jpg", policy).port == 443
    with pytest.raises(FetchForbidden, match=r"port 22 is not allowed; allowed ports: 80, 443"):
        parse_url("http://images.example.com:22/", policy)


@pytest.mark.parametrize(
    ("url", "host", "port", "address"),
    [
        ("http://Images.Example.COM./a.jpg#frag", "images.example.com", 80, None),
        ("HTTPS://bücher.example/a.jpg", "xn--bcher-kva.example", 443, None),
        ("http://127.0.0.1:8080/a.jpg", "127.0.0.1", 8080, "127.0.0.1"),
        ("http://[::FFFF:127.0.0.1]/", "::ffff:7f00:1", 80, "::ffff:7f00:1"),
    ],
)
def test_hosts_are_normalised(url: str, host: str, port: int, address: str | None) -> None:
    target = parse_url(url, FetchPolicy())
    assert (target.host, target.port) == (host, port)
    assert (str(target.address) if target.address else None) == address
    assert target.url.fragment == ""
