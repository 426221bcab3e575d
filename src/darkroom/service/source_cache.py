"""A per-process, size-bounded, least-recently-used cache of originals for rendering.

On-demand renders of a popular image read the same original again and again. Reading it
anew each time costs a storage round trip (an S3 GET) and a fresh buffer of the whole
file. Originals are content-addressed and never change, so the bytes can be shared by
every render in the process without copies or invalidation, and so can their probed
header: a repeat render skips the header parse and the limit checks, which under load
cost about 1 ms of a 17 ms render (`docs/benchmarks.md`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from darkroom.imaging import ImageInfo


@dataclass(frozen=True, slots=True)
class Source:
    """An original's bytes and what probing them found (limits already checked)."""

    data: bytes
    info: ImageInfo


class SourceCache:
    """Sources by storage key, at most `max_bytes` of data in all; entries over a quarter
    of that are not kept, so that one huge original cannot flush every popular one."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Source] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held now."""
        return self._size

    def get(self, key: str) -> Source | None:
        """The cached source, marked as recently used; None when absent."""
        with self._lock:
            source = self._entries.get(key)
            if source is not None:
                self._entries.move_to_end(key)
            return source

    def put(self, key: str, source: Source) -> None:
        """Keep `source` if it is small enough, evicting the least recently used."""
        if len(source.data) > self.max_bytes // 4:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._size -= len(previous.data)
            self._entries[key] = source
            self._size += len(source.data)
            while self._size > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted.data)

    def discard(self, key: str) -> None:
        """Forget `key` (its original was deleted)."""
        with self._lock:
            source = self._entries.pop(key, None)
            if source is not None:
                self._size -= len(source.data)
