"""Sources for the storage tests that fail, or count their reads, the way real uploads do."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class FailingReader(io.RawIOBase):
    """A source that yields `good` bytes, then fails the way a dropped upload would."""

    def __init__(self, good: bytes, error: BaseException) -> None:
        self._good = good
        self._error = error
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        self.reads += 1
        if not self._good:
            raise self._error
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._good))
        view[:n] = self._good[:n]
        self._good = self._good[n:]
        return n


class StreamReader(io.RawIOBase):
    """A source that cannot seek (a socket, a pipe) and yields `data`, then its end."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._data))
        view[:n] = self._data[:n]
        self._data = self._data[n:]
        return n
