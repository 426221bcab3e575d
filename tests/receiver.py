"""A real HTTP receiver on 127.0.0.1 that records what it is sent and answers as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Where the receiver listens, what it got, and the statuses it will answer in turn."""

    url: str
    answers: list[int] = field(default_factory=list)
    """Statuses to answer, first to last; 200 once they run out."""
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 15) -> list[Received]:
        """Block until `count` requests arrived; the requests."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"got {len(self.received)} request(s), expected {count}")

    def _record(self, request: Received) -> int:
        with self._lock:
            self.received.append(request)
            return self.answers.pop(0) if self.answers else 200


@contextmanager
def receiving(answers: list[int] | None = None) -> Iterator[Receiver]:
    """A receiver listening on a free loopback port until the block ends."""
    state: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            request = Received(self.command, self.path, dict(self.headers.items()), body)
            status = state[0]._record(request)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_POST = do_PURGE = do_PUT = _handle

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests read what was received instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}", list(answers or []))
    state.append(receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
