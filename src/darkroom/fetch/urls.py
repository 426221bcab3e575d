"""Strict parsing of the URLs a fetch is asked to follow."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from darkroom.errors import InvalidRequest
from darkroom.fetch.addresses import IPAddress, parse_address
from darkroom.fetch.errors import FetchForbidden
from darkroom.fetch.policy import FetchPolicy, normalize_host

MAX_URL_LENGTH = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Whitespace, controls and backslashes are where URL parsers disagree (a browser reads
# "http://a\@b/" as host a, httpx as host b): refuse them rather than pick a reading.
_AMBIGUOUS = re.compile(r"[\x00-\x20\x7f\\]|\s")


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed URL with its canonical host and port, ready to be vetted and fetched."""

    url: httpx.URL
    host: str
    """Normalised: lower-case ASCII, no trailing dot; IPs compressed, without brackets."""
    port: int
    address: IPAddress | None
    """The IP the host spells, if it is an IP literal (no DNS lookup needed then)."""
    subject: str
    """How error messages name this fetch, e.g. "Cannot fetch 'https://…'"."""


def describe(url: str, via: str | None = None) -> str:
    """The start of every error message about `url`, reached from `via` by a redirect."""
    shown = url if len(url) <= 200 else url[:200] + "…"
    if via is None:
        return f"Cannot fetch {shown!r}"
    return f"Cannot follow the redirect from {via!r} to {shown!r}"


def parse_url(url: str, policy: FetchPolicy, *, via: str | None = None) -> Target:
    """Parse `url` strictly: absolute http(s), a valid host, no credentials, a real port."""
    subject = describe(url, via)
    if len(url) > MAX_URL_LENGTH:
        raise InvalidRequest(f"{subject}: the URL is longer than {MAX_URL_LENGTH} characters.")
    if _AMBIGUOUS.search(url):
        raise InvalidRequest(
            f"{subject}: the URL contains whitespace, control characters or backslashes; "
            "percent-encode them."
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidRequest(f"{subject}: not a valid URL ({exc}).") from None
    scheme = parsed.scheme
    if scheme not in _DEFAULT_PORTS:
        what = f"the scheme {scheme!r} is not supported" if scheme else "the URL is not absolute"
        raise InvalidRequest(f"{subject}: {what}; use an http:// or https:// URL.")
    if scheme not in policy.schemes:
        raise FetchForbidden(
            f"{subject}: {scheme} URLs are not allowed here; use {' or '.join(policy.schemes)}."
        )
    if parsed.userinfo or "@" in _authority(url):
        raise InvalidRequest(f"{subject}: URLs with credentials (user:password@) are refused.")
    if not parsed.raw_host:
        raise InvalidRequest(f"{subject}: the URL has no host.")
    try:
        host = normalize_host(parsed.raw_host.decode("ascii"))
    except ValueError as exc:
        raise InvalidRequest(f"{subject}: {exc}.") from None
    port = _DEFAULT_PORTS[scheme] if parsed.port is None else parsed.port
    if not 0 < port < 65536:
        raise InvalidRequest(f"{subject}: port {port} is not a valid TCP port.")
    if policy.ports is not None and port not in policy.ports:
        allowed = ", ".join(map(str, policy.ports))
        raise FetchForbidden(f"{subject}: port {port} is not allowed; allowed ports: {allowed}.")
    return Target(
        url=parsed.copy_with(fragment=None),
        host=host,
        port=port,
        address=parse_address(host),
        subject=subject,
    )


def _authority(url: str) -> str:
    """The raw authority ("user@host:port") of an absolute URL, before any decoding."""
    rest = url.partition("//")[2]
    return re.split(r"[/?#]", rest, maxsplit=1)[0]
