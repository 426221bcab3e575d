"""A real HTTP(S) origin server on 127.0.0.1 whose routes misbehave on purpose."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

CHUNK = b"\0" * 65536
HUGE = 64 * 1024 * 1024
"""Bytes the huge routes would send if nobody hung up; far more than any test allows."""


@dataclass
class Request:
    """One request as the origin received it."""

    path: str
    host: str | None


@dataclass
class OriginState:
    """What the origin serves and what it saw; shared with its handler threads."""

    image: bytes
    stop: threading.Event = field(default_factory=threading.Event)
    requests: list[Request] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    """Body bytes each huge route managed to write before the client hung up."""
    finished: threading.Condition = field(default_factory=threading.Condition)

    def wait_sent(self, path: str, timeout: float = 5.0) -> int:
        """Wait until the handler for `path` has stopped writing; how much it wrote."""
        with self.finished:
            if not self.finished.wait_for(lambda: path in self.sent, timeout):
                raise AssertionError(f"the handler for {path} is still writing")
            return self.sent[path]


class _Handler(BaseHTTPRequestHandler):
    """Routes by path; each one exercises one way a remote server can behave."""

    server: _Server
    routes: ClassVar[dict[str, Callable[[_Handler], None]]] = {}

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    @property
    def state(self) -> OriginState:
        return self.server.state

    def do_GET(self) -> None:
        """Record the request, then answer it by its route."""
        url = urlsplit(self.path)
        self.query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.state.requests.append(Request(url.path, self.headers.get("Host")))
        route = (
            self.routes.get(url.path)
            or self.routes.get(url.path.rsplit("/", 1)[0] + "/*")
            or _Handler.not_found
        )
        try:
            route(self)
        except OSError:
            # The client hung up (a refused body, a timeout): nothing left to answer.
            self.close_connection = True

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def not_found(self) -> None:
        self.answer(404, b"no such route")

    def image(self) -> None:
        self.answer(200, self.state.image, Content_Type="image/jpeg")

    def redirect(self) -> None:
        # /redirect/N takes N redirects to reach the image.
        left = int(self.path.rsplit("/", 1)[1])
        self.answer(302, Location="/image.jpg" if left <= 1 else f"/redirect/{left - 1}")

    def to(self) -> None:
        self.answer(int(self.query.get("status", "302")), Location=self.query["url"])

    def loop(self) -> None:
        self.answer(302, Location="/loop")

    def no_location(self) -> None:
        self.answer(302)

    def status(self) -> None:
        code = int(self.path.rsplit("/", 1)[1])
        self.answer(code, b"" if code in (204, 304) else b"an error page")

    def garbage(self) -> None:
        self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")

    def gzip(self) -> None:
        self.answer(200, gzip.compress(self.state.image), Content_Encoding="gzip")

    def huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        self._stream_until_hung_up("/huge")

    def huge_unsized(self) -> None:
        # HTTP/1.0 without Content-Length: the body ends when the connection closes.
        self.send_response(200)
        self.end_headers()
        self._stream_until_hung_up("/huge-unsized")

    def _stream_until_hung_up(self, path: str) -> None:
        sent = 0
        try:
            while sent < HUGE and not self.state.stop.is_set():
                self.wfile.write(CHUNK)
                sent += len(CHUNK)
        except OSError:
            self.close_connection = True
        finally:
            with self.state.finished:
                self.state.sent[path] = sent
                self.state.finished.notify_all()

    def slow(self) -> None:
        # Headers never come before the client's read timeout.
        self.state.stop.wait(5)
        self.answer(200, self.state.image)

    def drip(self) -> None:
        # Each byte comes within the read timeout, the whole never within the deadline.
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        for _ in range(1000):
            if self.state.stop.wait(0.05):
                break
            self.wfile.write(b"x")


_Handler.routes = {
    "/image.jpg": _Handler.image,
    "/redirect/*": _Handler.redirect,
    "/to": _Handler.to,
    "/loop": _Handler.loop,
    "/no-location": _Handler.no_location,
    "/status/*": _Handler.status,
    "/gzip": _Handler.gzip,
    "/garbage": _Handler.garbage,
    "/huge": _Handler.huge,
    "/huge-unsized": _Handler.huge_unsized,
    "/slow": _Handler.slow,
    "/drip": _Handler.drip,
}


class _Server(ThreadingHTTPServer):
    # Joined handler threads let the fixture end only once every handler has returned.
    daemon_threads = False
    block_on_close = True

    def __init__(self, state: OriginState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@dataclass
class Origin:
    """A running origin: where it listens and what it saw."""

    state: OriginState
    port: int
    scheme: str

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The URL of `path` on this origin, reached under the name `host`."""
        return f"{self.scheme}://{host}:{self.port}{path}"


@contextmanager
def serve(image: bytes, tls: ssl.SSLContext | None = None) -> Iterator[Origin]:
    """Run an origin on 127.0.0.1 (HTTPS with `tls`) for the duration of the block."""
    state = OriginState(image=image)
    server = _Server(state)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield Origin(state, server.server_port, "https" if tls else "http")
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A loopback port with nothing listening on it (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
