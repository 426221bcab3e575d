"""Send a request to a URL someone else chose (webhooks, CDN purges), under the fetch rules.

The same address checks as fetching apply: the destination's addresses are resolved and
vetted once, the connection is pinned to them, and redirects are not followed (a
webhook receiver that redirects is misconfigured, and following would re-target the
body). The answer is reported, not judged: the caller decides what a status means.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from darkroom import __version__
from darkroom.fetch.addresses import IPAddress
from darkroom.fetch.errors import FetchTimeout
from darkroom.fetch.fetcher import default_ssl_context, transport_error
from darkroom.fetch.policy import FetchPolicy
from darkroom.fetch.transport import PinnedTransport
from darkroom.fetch.urls import Target, parse_url
from darkroom.fetch.vetting import vet

ANSWER_EXCERPT = 512
"""Bytes of the answer kept for the delivery record: enough to show an error page's gist."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The destination's answer: its status and the start of its body."""

    status: int
    excerpt: str

    @property
    def ok(self) -> bool:
        """Whether the destination took it (any 2xx)."""
        return 200 <= self.status < 300


def check_destination(url: str, policy: FetchPolicy) -> Target:
    """Refuse, now, a destination a later send would refuse (bad URL, forbidden address)."""
    target = parse_url(url, policy)
    vet(target, policy)
    return target


def send(
    method: str,
    url: str,
    policy: FetchPolicy,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Answer:
    """Send one request to vetted addresses only; raises FetchUnavailable/FetchTimeout etc."""
    target = parse_url(url, policy)
    pins: dict[str, tuple[IPAddress, ...]] = {target.host: vet(target, policy)}
    end = time.monotonic() + policy.total_timeout
    transport = PinnedTransport(
        pins, ssl_context or default_ssl_context(), lambda: end - time.monotonic()
    )
    timeout = httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.total_timeout,
    )
    sent = {"User-Agent": f"darkroom/{__version__}", **(headers or {})}
    with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
        try:
            with client.stream(
                method, target.url, content=body, headers=sent, timeout=timeout
            ) as response:
                excerpt = b""
                for chunk in response.iter_raw():
                    excerpt += chunk
                    if len(excerpt) >= ANSWER_EXCERPT:
                        break
                return Answer(
                    response.status_code, excerpt[:ANSWER_EXCERPT].decode("utf-8", "replace")
                )
        except httpx.TimeoutException as exc:
            raise FetchTimeout(
                f"{target.host} did not answer within {policy.read_timeout:g} s.",
                details={"url": str(target.url)},
            ) from exc
        except httpx.HTTPError as exc:
            raise transport_error(target, exc) from exc
