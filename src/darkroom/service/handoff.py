"""Decoded originals passed from an upload to the same process's transform workers.

Under `darkroom serve` with its in-memory queue, the worker that renders an image's
variants runs in the process that accepted the upload, milliseconds later. The upload
decodes every pixel anyway, to verify the file; decoding it to the shared base its
profiles render from (`imaging.base`) verifies it as well and spares the worker the read
of the original and a second decode: about a third of the work of three profiles of a
photo (`docs/benchmarks.md`, eager pipeline).

Nothing depends on a handoff arriving: a worker that finds none (another process, an
entry that expired or did not fit, a retry) reads and decodes the original as always, and
a base too small for a render is not used for it (`imaging.base.from_base`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from darkroom.imaging import ImageInfo
from darkroom.imaging.base import Base

TTL_SECONDS = 60.0
"""A handoff not taken by then (its message went elsewhere, or the variants were
cancelled) is dropped: the worker would have taken it long before."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """An original's bytes, what probing them found, and its shared base."""

    data: bytes
    info: ImageInfo
    base: Base

    @property
    def size(self) -> int:
        """Bytes held: the file and the base's pixels."""
        image = self.base.image
        return len(self.data) + pixel_bytes(image.width * image.height, image.bands, image.format)


def pixel_bytes(pixels: int, bands: int, sample_format: str = "uchar") -> int:
    """Memory of an uncompressed image: 8-bit unless its samples are 16-bit (PNG, TIFF)."""
    return pixels * bands * (2 if sample_format in ("ushort", "short") else 1)


class Handoff:
    """Decoded originals by storage key, at most `max_bytes` held, each taken at most once.

    When full, a new entry is refused rather than an old one evicted: workers take entries
    in upload order, so the oldest is the next one needed. The upload asks `has_room`
    first, and verifies the cheaper way when there is none.
    """

    def __init__(
        self,
        max_bytes: int,
        *,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self._ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Decoded]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held now."""
        return self._size

    def has_room(self, estimate: int) -> bool:
        """Whether an entry of about `estimate` bytes would be kept now."""
        with self._lock:
            self._expire()
            return self._size + estimate <= self.max_bytes

    def put(self, key: str, decoded: Decoded) -> bool:
        """Keep `decoded` for the worker that renders `key`'s variants; False if no room."""
        size = decoded.size
        with self._lock:
            self._expire()
            if key in self._entries or self._size + size > self.max_bytes:
                return False
            self._entries[key] = (self._clock() + self._ttl, decoded)
            self._size += size
            return True

    def take(self, key: str) -> Decoded | None:
        """The entry for `key`, removed, or None."""
        with self._lock:
            found = self._entries.pop(key, None)
            if found is None:
                return None
            self._size -= found[1].size
            return None if found[0] < self._clock() else found[1]

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, (deadline, decoded) = next(iter(self._entries.items()))
            if deadline >= now:
                return
            del self._entries[key]
            self._size -= decoded.size
