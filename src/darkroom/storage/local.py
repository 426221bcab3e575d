"""`LocalStore`: objects as files under one directory, written atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from darkroom.errors import NotFound, StorageUnavailable
from darkroom.storage.atomic import TEMP_PREFIX, write_atomically
from darkroom.storage.base import ObjectStore, StrPath
from darkroom.storage.keys import InvalidKey, is_valid_key, validate_key, validate_prefix

CHUNK_SIZE = 1024 * 1024


class LocalStore(ObjectStore):
    """Objects as files under `root`, each key a relative path.

    Every write goes to a temp file in the target's directory, is fsynced, then renamed
    over the target, so a reader sees the old object or the new one, never a part. A put
    always writes, even when the key exists: originals are content-addressed, but callers
    skip those uploads with `exists()` before streaming anything, and "put means the key
    now holds these bytes" stays true for every other key. `content_type` is not stored:
    the database records each object's media type.
    """

    def __init__(self, root: StrPath) -> None:
        self._root = Path(root).resolve()
        try:
            self._root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(
                f"Could not create the local storage directory {str(self._root)!r}."
            ) from exc

    def __repr__(self) -> str:
        return f"LocalStore({str(self._root)!r})"

    @property
    def root(self) -> Path:
        """The absolute directory holding the objects."""
        return self._root

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        """Store `data` under `key`, atomically replacing any object there."""
        self._write(key, self._path(key), (data,))

    def put_file(
        self, key: str, source: StrPath | BinaryIO, content_type: str | None = None
    ) -> None:
        """Stream a file (a path, or an open binary file object) to `key`, atomically."""
        target = self._path(key)
        if isinstance(source, str | os.PathLike):
            with Path(source).open("rb") as reader:
                self._write(key, target, _read_chunks(reader))
        else:
            self._write(key, target, _read_chunks(source))

    def get(self, key: str) -> bytes:
        """The whole object."""
        path = self._path(key)
        with _reading(key):
            return path.read_bytes()

    def open(self, key: str) -> BinaryIO:
        """The object's file, open for reading; the caller closes it."""
        path = self._path(key)
        with _reading(key):
            return path.open("rb")

    def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        path = self._path(key)
        with _reading(key):
            return path.is_file()

    def size(self, key: str) -> int:
        """The object's length in bytes."""
        path = self._path(key)
        with _reading(key):
            info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise NotFound(f"No object is stored under {key!r}.")
        return info.st_size

    def delete(self, key: str) -> None:
        """Remove the object and any directories it leaves empty; a missing key is fine."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except (NotADirectoryError, IsADirectoryError):
            # The key names a directory, or runs through a file: there is no object here.
            return
        except OSError as exc:
            raise StorageUnavailable(f"Could not delete {key!r} from local storage.") from exc
        # Pruned after a miss too: a delete interrupted before its pruning left them behind.
        self._prune(path.parent)

    def url(self, key: str) -> str | None:
        """None: local objects have no URL of their own, the API serves them."""
        validate_key(key)
        return None

    def iterate(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with `prefix`, sorted; temp files are never listed."""
        validate_prefix(prefix)
        # Start from the deepest directory the prefix names in full, not from the root.
        directory, _, _ = prefix.rpartition("/")
        start = self._root.joinpath(*directory.split("/")) if directory else self._root
        return self._walk(start, f"{directory}/" if directory else "", prefix)

    def sweep(self, older_than: timedelta) -> int:
        """Remove the temp files of writes interrupted over `older_than` ago (last written
        to then), and the directories that leaves empty; objects are never touched."""
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for entry in self._temp_files(self._root):
            path = Path(entry.path)
            try:
                if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                    continue  # possibly a write in progress
                path.unlink()
            except FileNotFoundError:
                continue  # its write finished (renamed into place), or another sweep won
            except OSError as exc:
                raise StorageUnavailable("Could not sweep local storage.") from exc
            removed += 1
            self._prune(path.parent)
        return removed

    def _temp_files(self, directory: Path) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except (FileNotFoundError, NotADirectoryError):
            return  # pruned meanwhile
        except OSError as exc:
            raise StorageUnavailable("Could not list local storage.") from exc
        for entry in entries:
            if _is_dir(entry):
                yield from self._temp_files(Path(entry.path))
            elif entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                yield entry

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*validate_key(key).split("/"))

    def _write(self, key: str, target: Path, chunks: Iterable[bytes]) -> None:
        write_atomically(target, chunks, guard=lambda: _writing(key))

    def _prune(self, directory: Path) -> None:
        while directory != self._root and directory.is_relative_to(self._root):
            try:
                directory.rmdir()
            except OSError:
                # Not empty, already gone, or refilled by a concurrent put: all mean stop,
                # and an empty directory left behind costs nothing.
                return
            directory = directory.parent

    def _walk(self, directory: Path, key_prefix: str, prefix: str) -> Iterator[str]:
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageUnavailable("Could not list local storage.") from exc
        # Sorting a directory's name as "name/" makes this walk yield keys in the exact
        # order a sort of the full key strings would ('-' and '.' sort before '/').
        named = [(entry.name + "/" if _is_dir(entry) else entry.name, entry) for entry in entries]
        for name, entry in sorted(named, key=lambda pair: pair[0]):
            key = key_prefix + name
            # Temp files, and anything else no key could name, are not objects.
            if not key.startswith(prefix) or not is_valid_key(entry.name):
                continue
            if name.endswith("/"):
                yield from self._walk(Path(entry.path), key, prefix)
            elif entry.is_file():
                yield key


def _is_dir(entry: os.DirEntry[str]) -> bool:
    # Symlinked directories are not followed: a link back up the tree would never end.
    return entry.is_dir(follow_symlinks=False)


def _read_chunks(source: BinaryIO) -> Iterator[bytes]:
    while chunk := source.read(CHUNK_SIZE):
        yield chunk


@contextlib.contextmanager
def _reading(key: str) -> Iterator[None]:
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise NotFound(f"No object is stored under {key!r}.") from exc
    except OSError as exc:
        raise StorageUnavailable(f"Could not read {key!r} from local storage.") from exc


@contextlib.contextmanager
def _writing(key: str) -> Iterator[None]:
    try:
        yield
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        # Only a file where a directory must go, or the reverse, raises these here.
        raise InvalidKey(
            f"storage key {key!r} collides with another key used as a directory or a file"
        ) from exc
    except OSError as exc:
        raise StorageUnavailable(f"Could not write {key!r} to local storage.") from exc
