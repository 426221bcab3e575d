"""Fetch one file over HTTP(S) from a URL someone else chose, without letting it reach inside."""

from __future__ import annotations

import functools
import ssl
import time
from dataclasses import dataclass

import httpx

from darkroom import __version__
from darkroom.errors import DarkroomError, ImageTooLarge
from darkroom.fetch.addresses import IPAddress
from darkroom.fetch.errors import FetchFailed, FetchTimeout, FetchUnavailable
from darkroom.fetch.policy import FetchPolicy
from darkroom.fetch.transport import PinnedTransport
from darkroom.fetch.urls import Target, describe, parse_url
from darkroom.fetch.vetting import vet

_HEADERS = {
    "Accept": "image/*",
    # A compressed body would be inflated past the size limit before it could be counted,
    # and images gain nothing from it.
    "Accept-Encoding": "identity",
    "User-Agent": f"darkroom/{__version__}",
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SUCCESS = frozenset({200, 203})
_RETRY_LATER = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched file: its bytes, the URL it finally came from, and its declared type."""

    content: bytes
    url: str
    content_type: str | None
    """The Content-Type header, for information only: sniff `content` to know the type."""


class _Deadline:
    """The overall time limit of one fetch, across every redirect."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; zero or less once the deadline has passed."""
        return self._end - time.monotonic()

    def check(self, subject: str) -> float:
        """Seconds left; raises `FetchTimeout` once the deadline has passed."""
        remaining = self.remaining()
        if remaining <= 0:
            raise FetchTimeout(f"{subject}: the fetch took longer than {self.seconds:g} s.")
        return remaining


def fetch(url: str, policy: FetchPolicy, *, ssl_context: ssl.SSLContext | None = None) -> Fetched:
    """Fetch `url` under `policy`: vetted addresses only, redirects re-checked, bounded.

    `ssl_context` replaces the default certificate verification (certifi's roots), e.g.
    for a private CA. Every failure is a `DarkroomError`: `InvalidRequest` for a bad URL,
    `FetchForbidden` for a refused host or address, `ImageTooLarge` past `max_bytes`,
    `FetchFailed` when the remote answers with an error of the caller's making (404),
    `FetchUnavailable`/`FetchTimeout` when trying again later may help.
    """
    deadline = _Deadline(policy.total_timeout)
    pins: dict[str, tuple[IPAddress, ...]] = {}
    transport = PinnedTransport(pins, ssl_context or default_ssl_context(), deadline.remaining)
    with httpx.Client(
        transport=transport, headers=_HEADERS, trust_env=False, follow_redirects=False
    ) as client:
        target = parse_url(url, policy)
        visited = {str(target.url)}
        for redirects in range(policy.max_redirects + 1):
            # A host met again on a redirect keeps its first vetted answer: asking DNS
            # twice is exactly what a rebinding attack needs.
            if target.host not in pins:
                pins[target.host] = vet(target, policy)
            outcome = _get(client, target, policy, deadline)
            if isinstance(outcome, Fetched):
                return outcome
            if redirects == policy.max_redirects:
                break
            following = parse_url(str(outcome), policy, via=str(target.url))
            if str(following.url) in visited:
                raise FetchFailed(
                    f"{describe(url)}: redirect loop ({target.url} redirects back to "
                    f"{following.url}).",
                    details={"url": url},
                )
            visited.add(str(following.url))
            target = following
    raise FetchFailed(
        f"{describe(url)}: more than {policy.max_redirects} redirects "
        f"(the last one from {target.url}).",
        details={"url": url},
    )


def _get(
    client: httpx.Client, target: Target, policy: FetchPolicy, deadline: _Deadline
) -> Fetched | httpx.URL:
    """One GET: the file, or the URL a redirect points to."""
    remaining = deadline.check(target.subject)
    read = min(policy.read_timeout, remaining)
    timeout = httpx.Timeout(
        connect=min(policy.connect_timeout, remaining), read=read, write=read, pool=remaining
    )
    try:
        with client.stream("GET", target.url, timeout=timeout) as response:
            return _receive(response, target, policy, deadline)
    except httpx.TimeoutException as exc:
        raise FetchTimeout(
            f"{target.subject}: {target.host} did not answer in time (connect timeout "
            f"{policy.connect_timeout:g} s, read timeout {policy.read_timeout:g} s, "
            f"overall {policy.total_timeout:g} s); try again later.",
            details={"url": str(target.url)},
        ) from exc
    except httpx.HTTPError as exc:
        raise transport_error(target, exc) from exc


def _receive(
    response: httpx.Response, target: Target, policy: FetchPolicy, deadline: _Deadline
) -> Fetched | httpx.URL:
    """Read a response: follow-up URL of a redirect, error of a failure, else the body."""
    status = response.status_code
    if status in _REDIRECTS:
        location = response.headers.get("location")
        if not location:
            raise FetchFailed(
                f"{target.subject}: the remote server answered {status} without a Location.",
                details={"url": str(target.url), "status": status},
            )
        try:
            return response.url.join(location)
        except httpx.InvalidURL:
            raise FetchFailed(
                f"{target.subject}: the remote server redirected to an invalid URL {location!r}.",
                details={"url": str(target.url), "status": status},
            ) from None
    if status not in _SUCCESS:
        raise _status_error(response, target)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchFailed(
            f"{target.subject}: the remote server sent the file {encoding}-encoded although "
            "asked not to; serve it unencoded.",
            details={"url": str(target.url), "content_encoding": encoding},
        )
    limit = policy.max_bytes
    declared = _content_length(response)
    if declared is not None and declared > limit:
        raise ImageTooLarge(
            f"{target.subject}: the remote file is {declared} bytes; the limit is {limit}.",
            details={"url": str(target.url), "size": declared, "limit": limit},
        )
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > limit:
            raise ImageTooLarge(
                f"{target.subject}: the remote file is larger than the limit of {limit} bytes.",
                details={"url": str(target.url), "limit": limit},
            )
        deadline.check(target.subject)
    return Fetched(
        content=bytes(body),
        url=str(response.url),
        content_type=response.headers.get("content-type"),
    )


def _content_length(response: httpx.Response) -> int | None:
    """The declared body size, or None if absent or unreadable (h11 polices the real one)."""
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _status_error(response: httpx.Response, target: Target) -> DarkroomError:
    """The error for a non-success answer: transient for 5xx and 'retry later' codes."""
    status = response.status_code
    answer = f"{status} {response.reason_phrase}".strip()
    details = {"url": str(target.url), "status": status}
    if status >= 500 or status in _RETRY_LATER:
        return FetchUnavailable(
            f"{target.subject}: the remote server answered {answer}; try again later.",
            details=details,
        )
    if status >= 400:
        return FetchFailed(
            f"{target.subject}: the remote server answered {answer}; check the URL.",
            details=details,
        )
    return FetchFailed(
        f"{target.subject}: the remote server answered {answer} instead of 200 OK.",
        details=details,
    )


def transport_error(target: Target, exc: httpx.HTTPError) -> DarkroomError:
    """The error for a connection that failed below HTTP: transient unless TLS says no."""
    cause = _root_cause(exc)
    details = {"url": str(target.url)}
    if isinstance(cause, ssl.SSLCertVerificationError):
        return FetchFailed(
            f"{target.subject}: the TLS certificate of {target.host} is not valid "
            f"({cause.verify_message}).",
            details=details,
        )
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else str(cause)
    if isinstance(exc, httpx.ConnectError):
        return FetchUnavailable(
            f"{target.subject}: could not connect to {target.host} port {target.port} "
            f"({reason}); try again later.",
            details=details,
        )
    return FetchUnavailable(
        f"{target.subject}: the connection to {target.host} failed ({reason}); try again later.",
        details=details,
    )


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception behind `exc` (the OSError or TLS error that started it)."""
    # httpcore's pool re-raises `from None`, so the original survives only as __context__.
    cause = exc
    for _ in range(10):
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    return cause


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's roots), built once: loading them is slow."""
    return httpx.create_ssl_context()
