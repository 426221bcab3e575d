"""Downloads that reuse what is already held: If-None-Match, and a 304 costs no bytes.

An ETag names one exact content, so bytes held under it need not travel again. The client
keeps the last downloads in a small cache by path; a file already at `to` counts too
for an original, whose ETag is the SHA-256 of its bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import httpx

from darkroom.client._errors import error_from_response

DEFAULT_CACHE_ENTRIES = 64
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Download:
    """A downloaded original or variant."""

    content: bytes
    etag: str | None
    media_type: str | None
    not_modified: bool
    """The server answered 304: `content` is what was already held, nothing was sent."""


class EtagCache:
    """The last downloads by path, least recently used dropped first, within a byte budget."""

    def __init__(
        self, entries: int = DEFAULT_CACHE_ENTRIES, max_bytes: int = DEFAULT_CACHE_BYTES
    ) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._held: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._bytes = 0

    def get(self, path: str) -> tuple[str, bytes] | None:
        """The ETag and bytes last downloaded from `path`, if still held."""
        found = self._held.get(path)
        if found is not None:
            self._held.move_to_end(path)
        return found

    def put(self, path: str, etag: str, content: bytes) -> None:
        """Hold `content` of `path` under `etag`, if it fits the budget at all."""
        self._drop(path)
        if self.entries < 1 or len(content) > self.max_bytes:
            return
        self._held[path] = (etag, content)
        self._bytes += len(content)
        while len(self._held) > self.entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._held)))

    def _drop(self, path: str) -> None:
        gone = self._held.pop(path, None)
        if gone is not None:
            self._bytes -= len(gone[1])


@dataclass(frozen=True)
class Plan:
    """A conditional download: the path, its If-None-Match, and the bytes it stands for."""

    path: str
    to: Path | None
    etag: str | None
    held: bytes | None

    @property
    def headers(self) -> dict[str, str]:
        """If-None-Match when something is held."""
        return {} if self.etag is None else {"If-None-Match": self.etag}


def plan(cache: EtagCache, path: str, *, original: bool, to: str | os.PathLike[str] | None) -> Plan:
    """What to ask for: the cached copy's ETag, or for an original the file at `to`'s digest."""
    target = None if to is None else Path(to)
    cached = cache.get(path)
    if cached is not None:
        return Plan(path, target, cached[0], cached[1])
    if original and target is not None and target.is_file():
        content = target.read_bytes()
        return Plan(path, target, f'"{hashlib.sha256(content).hexdigest()}"', content)
    return Plan(path, target, None, None)


def finish(cache: EtagCache, planned: Plan, response: httpx.Response) -> Download:
    """The download from the answer (304: the held bytes), cached and written to `to`."""
    media_type = response.headers.get("Content-Type")
    if response.status_code == 304 and planned.held is not None:
        download = Download(planned.held, planned.etag, media_type, not_modified=True)
    elif response.status_code == 200:
        etag = response.headers.get("ETag")
        download = Download(response.content, etag, media_type, not_modified=False)
    else:
        raise error_from_response(response)
    if download.etag is not None:
        cache.put(planned.path, download.etag, download.content)
    if planned.to is not None:
        _write(planned.to, download.content)
    return download


def _write(target: Path, content: bytes) -> None:
    if (
        target.is_file()
        and target.stat().st_size == len(content)
        and target.read_bytes() == content
    ):
        return  # already there: leave its modification time alone
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(content)
    partial.replace(target)  # atomic: a reader never sees half a file
