"""An httpx transport that connects only to addresses vetted beforehand (DNS pinning).

httpx hands each connection to an httpcore network backend as (host name, port). The
backend here never resolves that name: it looks the host up in a table of pinned
addresses, filled by the fetcher after it resolved and checked them, and connects to
those IP literals. A second DNS answer (a rebinding attack) therefore never reaches a
socket, while TLS still sends SNI and verifies the certificate for the host name, and
the Host header stays the URL's.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping

import httpcore
import httpx

from darkroom.fetch.addresses import IPAddress
from darkroom.fetch.errors import FetchForbidden
from darkroom.fetch.policy import normalize_host

Pins = Mapping[str, tuple[IPAddress, ...]]
"""Normalised host name -> the vetted addresses a connection to it may use, in order."""

# Most specific first: the first match wins.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """Re-raise httpcore's exceptions as httpx's, as httpx's own transport does."""
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections to a host's pinned addresses only; never resolves a name."""

    def __init__(self, pins: Pins, remaining: Callable[[], float]) -> None:
        self._pins = pins
        self._remaining = remaining
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first pinned address of `host` that accepts the connection."""
        try:
            addresses = self._pins.get(normalize_host(host), ())
        except ValueError:
            addresses = ()
        if not addresses:
            raise FetchForbidden(f"Refusing to connect to {host}: its addresses were not vetted.")
        *fallbacks, final = addresses
        for address in fallbacks:
            with contextlib.suppress(httpcore.ConnectError, httpcore.ConnectTimeout):
                return self._connect(address, port, timeout, local_address, socket_options)
        return self._connect(final, port, timeout, local_address, socket_options)

    def _connect(
        self,
        address: IPAddress,
        port: int,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None,
    ) -> httpcore.NetworkStream:
        # Each attempt on a multi-address host gets what is left of the overall deadline
        # at most, so trying several dead addresses cannot outlast it.
        remaining = self._remaining()
        if remaining <= 0:
            raise httpcore.ConnectTimeout("the overall deadline passed before connecting")
        timeout = remaining if timeout is None else min(timeout, remaining)
        # An IP literal: create_connection's getaddrinfo only parses it, never asks DNS.
        return self._tcp.connect_tcp(str(address), port, timeout, local_address, socket_options)


class _ResponseStream(httpx.SyncByteStream):
    """An httpcore response body seen as an httpx stream, with httpx's exceptions."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose connections go to pinned addresses."""

    def __init__(
        self, pins: Pins, ssl_context: ssl.SSLContext, remaining: Callable[[], float]
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            network_backend=PinnedBackend(pins, remaining),
            retries=0,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` over the pool and wrap the answer for httpx."""
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise TypeError("PinnedTransport is synchronous; use it with httpx.Client.")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = self._pool.handle_request(core_request)
        if not isinstance(core_response.stream, Iterable):
            raise TypeError("httpcore returned an asynchronous body to a synchronous pool.")
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pool.close()
