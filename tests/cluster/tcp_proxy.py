"""A TCP proxy a test can cut: every connection through it reset at once, as a NAT drops them.

A process pointed at the proxy instead of the broker sees its connections die with
ECONNRESET (the proxy closes both ends with SO_LINGER 0), exactly like an idle connection
dropped by a load balancer or a broker restart, while new connections keep working.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, 0 s: close() sends RST instead of FIN."""


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` resets every open connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut: set[socket.socket] = set()
        self._ended: set[socket.socket] = set()
        self.accepted = 0
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def open_connections(self) -> int:
        """Connections currently forwarded."""
        with self._lock:
            return len(self._pairs)

    def cut(self) -> int:
        """Reset both ends of every open connection; how many there were."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self._cut.update(sock for pair in pairs for sock in pair)
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                # Wakes the pump blocked reading it; the close once it let go sends the RST.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)
                with contextlib.suppress(OSError):
                    sock.close()
        return len(pairs)

    def close(self) -> None:
        """Stop accepting and reset what is still open."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._thread.join(timeout=5)
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._pairs.append((client, upstream))
                self.accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            if source in self._cut:
                return  # reset by cut(): no orderly end for the other side
            self._ended.add(source)
            pair = next((p for p in self._pairs if source in p), None)
            done = pair is not None and all(sock in self._ended for sock in pair)
            if done and pair is not None:
                self._pairs.remove(pair)
                self._ended.difference_update(pair)
        # One side ended on its own: end the other side too, and close both once both ended.
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        if done:
            source.close()
            sink.close()


@contextmanager
def tcp_proxy(target: tuple[str, int]) -> Iterator[TcpProxy]:
    """A running proxy to `target`, closed afterwards."""
    proxy = TcpProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
