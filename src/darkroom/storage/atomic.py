"""Atomic file writes: a reader sees no file, the old file or the whole new one, never a part."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

TEMP_PREFIX = ".~tmp-"
"""Hidden, and not a valid storage key segment ('~' is refused): never taken for an object."""
_CREATE_ATTEMPTS = 3
"""A concurrent delete may prune the directory between our mkdir and our temp file."""

Guard = Callable[[], AbstractContextManager[object]]
"""Wraps each file-system step, e.g. to translate OSError into the caller's errors."""


def write_atomically(
    target: Path, chunks: Iterable[bytes], *, guard: Guard = contextlib.nullcontext
) -> None:
    """Write `chunks` to a temp file beside `target`, fsync it, then rename it over `target`.

    Only the writing steps run under `guard`: errors raised by `chunks` itself belong to
    its producer. The temp file is removed on any failure.
    """
    fd, temp = _create_temp(target.parent, guard)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with guard():
                    out.write(chunk)
            with guard():
                out.flush()
                os.fsync(out.fileno())
        with guard():
            temp.replace(target)
            _fsync_directory(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def _create_temp(directory: Path, guard: Guard) -> tuple[int, Path]:
    # Not mkstemp: its files are 0600, and outputs should get the permissions the umask
    # gives any other file, so that e.g. a web server can serve the directory.
    attempts = _CREATE_ATTEMPTS
    while True:
        attempts -= 1
        temp = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        with guard():
            directory.mkdir(parents=True, exist_ok=True)
            try:
                return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
            except FileNotFoundError:
                if attempts == 0:
                    raise


def _fsync_directory(directory: Path) -> None:
    # The rename survives a power cut only once the directory entry is on disk too.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
