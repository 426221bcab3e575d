"""What analyzers share: model identity, the import of their extra, one load per process."""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from darkroom.errors import ExtraNotInstalled

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The model behind a result, recorded beside it (a result is only as good as its model)."""

    name: str
    version: str

    @classmethod
    def of_file(cls, path: Path) -> ModelInfo:
        """A user's own model file: its name, and a digest of its bytes as the version."""
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        return cls(path.name, f"sha256:{digest.hexdigest()[:16]}")


def require(module: str, *, feature: str, extra: str) -> ModuleType:
    """Import `module`, or refuse naming the `pip install` of the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExtraNotInstalled.named(feature, extra) from exc


def installed(module: str) -> bool:
    """Whether `module` can be imported (its extra is installed)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


_models: dict[tuple[str, Path | None], Any] = {}
_lock = threading.Lock()


def load_once(name: str, path: Path | None, loader: Callable[[Path | None], T]) -> T:
    """The model `name` (from `path`, or its packaged default), loaded once per process.

    Loading takes seconds and hundreds of MB; concurrent first calls wait for one load.
    """
    key = (name, path)
    with _lock:
        if key not in _models:
            _models[key] = loader(path)
        model: T = _models[key]
    return model
