"""The test image corpus (tests/fixtures/corpus) and its manifest of expected outcomes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from darkroom import errors

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

_REJECTIONS: tuple[tuple[str, type[errors.ImageError]], ...] = (
    ("reject: unsupported format", errors.UnsupportedFormat),
    ("reject: corrupt", errors.CorruptImage),
    ("reject: too many pixels", errors.TooManyPixels),
)


@dataclass(frozen=True)
class Entry:
    """One corpus file and what the manifest says of it."""

    file: str
    expected: str
    width: int | None
    height: int | None
    pages: int
    orientation: int
    category: str

    @property
    def ok(self) -> bool:
        """Whether the file must be accepted and rendered."""
        return self.expected == "ok"

    @property
    def rejection(self) -> type[errors.ImageError]:
        """The typed error the manifest documents for a rejected file."""
        for prefix, error in _REJECTIONS:
            if self.expected.startswith(prefix):
                return error
        raise AssertionError(f"{self.file}: no error class for {self.expected!r}")

    @property
    def upright(self) -> tuple[int, int]:
        """(width, height) once EXIF orientation is applied."""
        assert self.width is not None
        assert self.height is not None
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height

    def read(self) -> bytes:
        """The file's bytes."""
        return (CORPUS / self.file).read_bytes()


@cache
def entries() -> tuple[Entry, ...]:
    """Every corpus file, in manifest order."""
    rows = json.loads((CORPUS / "manifest.json").read_text())
    return tuple(
        Entry(
            file=row["file"],
            expected=row["expected"],
            width=row["width"],
            height=row["height"],
            pages=(row.get("pyvips") or {}).get("n_pages") or 1,
            orientation=(row.get("pyvips") or {}).get("orientation") or 1,
            category=row["category"],
        )
        for row in rows
    )


def ok_entries() -> list[Entry]:
    """Files the manifest says render."""
    return [e for e in entries() if e.ok]


def rejected_entries() -> list[Entry]:
    """Files the manifest says must be refused."""
    return [e for e in entries() if not e.ok]


def read(name: str) -> bytes:
    """Bytes of a corpus file by name."""
    return (CORPUS / name).read_bytes()
