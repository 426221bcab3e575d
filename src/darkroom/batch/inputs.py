"""`darkroom batch`: the inputs it finds, the outputs it names, and the summary it reports.

Both modes share this module: local mode renders on this machine's cores
(`batch_local`), submit mode uploads to the cluster and follows the variants
(`batch_submit`). Either way every (input file, profile) pair, and every (input file,
analysis) pair, ends as one `Item`.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any

from darkroom.errors import DarkroomError, ImageTooLarge, InvalidRequest
from darkroom.imaging import Limits
from darkroom.imaging.formats import TRAITS, sniff

SNIFF_BYTES = 4096
"""Enough leading bytes for every signature `sniff` knows, SVG included."""

WRITABLE_EXTENSIONS = tuple(sorted({t.extension for t in TRAITS.values() if t.writable}))
"""Every extension an output file can have."""


class State(StrEnum):
    """How one input ended for one profile or analysis."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Item:
    """The outcome of one input for one profile or one analysis (both None: the whole file)."""

    path: str
    profile: str | None
    state: State
    reason: str | None = None
    code: str | None = None
    output: str | None = None
    """The written file (local mode: the output, or the analyses JSON) or the storage key
    of the variant (submit mode)."""
    width: int | None = None
    height: int | None = None
    format: str | None = None
    image_id: str | None = None
    analysis: str | None = None
    """The analysis this item is about (then `profile` is None)."""

    @property
    def label(self) -> str:
        """What the item is about, for people: the profile, `name (analysis)`, or `*`."""
        if self.analysis is not None:
            return f"{self.analysis} (analysis)"
        return self.profile or "*"

    def sort_key(self) -> tuple[str, bool, str]:
        """By path, then profiles before analyses, each by name."""
        return (self.path, self.analysis is not None, self.profile or self.analysis or "")


def failed(path: str, profile: str | None, exc: BaseException, **fields: Any) -> Item:
    """A failure item carrying a typed error's public message and code."""
    if isinstance(exc, DarkroomError):
        return Item(path, profile, State.FAILED, exc.message, exc.code, **fields)
    if isinstance(exc, OSError):
        reason = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        return Item(path, profile, State.FAILED, reason, "os_error", **fields)
    return Item(
        path, profile, State.FAILED, f"unexpected error: {exc!r}", "internal_error", **fields
    )


def read_input(path: Path, limits: Limits) -> bytes:
    """The bytes of an input file; ImageTooLarge, before reading, when it exceeds the limit."""
    with path.open("rb") as file:
        # Refuse before reading: a stray multi-gigabyte file must not be loaded whole.
        size = os.fstat(file.fileno()).st_size
        if size > limits.max_bytes:
            raise ImageTooLarge(
                f"The file is {size:,} bytes; the limit is {limits.max_bytes:,} bytes."
            )
        return file.read()


ANALYSES_SUFFIX = ".analyses.json"
"""The analyses of an input go to `{stem}.analyses.json` beside its outputs."""


@dataclass(frozen=True)
class Source:
    """One input file, and the stem its outputs are named after, relative to `--out`."""

    path: Path
    stem: PurePath
    relative: PurePath | None = None
    """The input relative to the inputs' common folder (None: just its file name)."""

    def output_base(self, out: Path, profile: str) -> Path:
        """Where this input's output for `profile` goes, without its extension."""
        return out / self.stem.parent / f"{self.stem.name}-{profile}"

    def analyses_path(self, out: Path) -> Path:
        """Where this input's analyses JSON goes."""
        return out / self.stem.parent / f"{self.stem.name}{ANALYSES_SUFFIX}"

    @property
    def source(self) -> str:
        """The input as its analyses JSON names it: relative, with forward slashes."""
        return (self.relative or PurePath(self.path.name)).as_posix()


@dataclass
class Inputs:
    """What the PATH_OR_GLOB arguments found: images to process and files passed over."""

    sources: list[Source] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)


def find_inputs(arguments: Sequence[str], limits: Limits, exclude: Path | None = None) -> Inputs:
    """Expand files, folders (recursed) and glob patterns into deduplicated image inputs.

    Files found in folders or by a pattern are kept only if their leading bytes are an
    accepted image format; the others are reported as skipped. A file named explicitly is
    always processed, so that a non-image the user asked for fails loudly. Files under
    `exclude` (the output folder) are never picked up from folders or patterns: a second
    run must not take the first run's outputs for inputs. InvalidRequest when an argument
    matches nothing or no image at all is found.
    """
    explicit: dict[Path, None] = {}
    found: dict[Path, None] = {}
    unmatched = []
    for argument in arguments:
        path = Path(argument)
        if path.is_file():
            explicit[path.resolve()] = None
            continue
        if path.is_dir():
            matches = [path]
        else:
            # Shells leave a pattern unexpanded when quoted or on Windows: expand it here,
            # with glob.glob: Path.glob refuses the absolute patterns people type.
            matches = [Path(m) for m in glob.glob(argument, recursive=True)]  # noqa: PTH207
        files = [f.resolve() for m in matches for f in _walk(m)]
        if not matches:
            unmatched.append(argument)
        found.update(dict.fromkeys(f for f in files if not _under(f, exclude)))
    if unmatched:
        raise InvalidRequest(f"No file or folder matches: {', '.join(unmatched)}.")
    inputs = Inputs()
    images = list(explicit)
    for path in sorted(set(found) - set(explicit)):
        reason = _not_an_image(path, limits)
        if reason is None:
            images.append(path)
        else:
            inputs.skipped.append(Item(str(path), None, State.SKIPPED, reason, "not_an_image"))
    if not images:
        raise InvalidRequest(
            f"No image found in {', '.join(arguments)} "
            f"({len(inputs.skipped)} other file(s) passed over)."
        )
    images.sort()
    root = Path(os.path.commonpath([p.parent for p in images]))
    relatives = [p.relative_to(root) for p in images]
    inputs.sources = [
        Source(p, s, r) for p, s, r in zip(images, _output_stems(relatives), relatives, strict=True)
    ]
    return inputs


def _walk(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        # Hidden folders (.git, .cache) and files (ours in progress are .name.tmp) are
        # not photos anyone means to batch.
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(root, f) for f in files if not f.startswith("."))


def _under(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.is_relative_to(folder)


def _not_an_image(path: Path, limits: Limits) -> str | None:
    try:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError:
        return None  # let the processing report why it cannot be read, as a failure
    fmt = sniff(head)
    if fmt is None:
        return "not an image"
    if fmt not in limits.input_formats:
        return f"{fmt.name} input is disabled"
    return None


def _output_stems(relatives: Sequence[Path]) -> list[PurePath]:
    """Output stems of the inputs, relative to their common folder, unique even
    case-insensitively.

    Mirroring the folders keeps `a/x.jpg` and `b/x.jpg` apart; `x.jpg` and `x.png` side by
    side keep their extension in the stem (`x.jpg-thumb.jpg`), and any clash left after
    that gets a `~N` suffix, in sorted order so reruns name files the same way.
    """
    stems = Counter(_key(r.with_suffix("")) for r in relatives)
    taken: set[str] = set()
    result: list[PurePath] = []
    for relative in relatives:
        stem = relative.with_suffix("") if stems[_key(relative.with_suffix(""))] == 1 else relative
        candidate, n = stem, 1
        while _key(candidate) in taken:
            n += 1
            candidate = stem.with_name(f"{stem.name}~{n}")
        taken.add(_key(candidate))
        result.append(candidate)
    return result


def _key(path: PurePath) -> str:
    # macOS and Windows folders are case-insensitive: X.jpg and x.jpg would share outputs.
    return str(path).casefold()


@dataclass
class Summary:
    """Every item of a batch, with the counts and failures the command reports."""

    mode: str
    files: int
    items: list[Item] = field(default_factory=list)

    def extend(self, items: Iterable[Item]) -> None:
        """Record finished items."""
        self.items.extend(items)

    def counts(self) -> dict[str, int]:
        """How many items ended in each state."""
        counted = Counter(item.state for item in self.items)
        return {state.value: counted[state] for state in State}

    def failures(self) -> list[Item]:
        """The failed items, by path, then profile, then analysis."""
        failures = [item for item in self.items if item.state is State.FAILED]
        return sorted(failures, key=Item.sort_key)

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else 1."""
        return 1 if self.failures() else 0

    def to_json(self) -> dict[str, Any]:
        """The summary for scripts: mode, file count, counts, and every item."""
        items = sorted(self.items, key=Item.sort_key)
        return {
            "mode": self.mode,
            "files": self.files,
            "counts": self.counts(),
            "items": [asdict(item) for item in items],
        }

    def lines(self) -> list[str]:
        """The summary for people: the counts, then `path: profile: reason` per failure
        (`path: name (analysis): reason` for an analysis)."""
        counts = ", ".join(f"{n} {state}" for state, n in self.counts().items())
        lines = [f"{self.files} file(s): {counts}"]
        for item in self.failures():
            lines.append(f"{display(item.path)}: {item.label}: {item.reason}")
        return lines


def display(path: str) -> str:
    """A path relative to the working directory when it is under it, for shorter lines."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
