"""A caller's file lent to a library that closes what it is given."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class KeepOpen(io.RawIOBase):
    """The caller's file as lent to s3transfer, with every call but `close()` passed on.

    s3transfer closes the file object of a single-request upload when done with it
    (boto/s3transfer#80), but the contract leaves the caller's file open.
    """

    def __init__(self, source: BinaryIO) -> None:
        self._source = source

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._source.seekable()

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size)

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()

    def close(self) -> None:
        """Leave the caller's file open, and this wrapper unmarked as closed."""
