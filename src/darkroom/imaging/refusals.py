"""Refusals worded from what Darkroom knows of the input, never from a decoder's shared text.

libvips' error text is process-wide and unattributable (see `_vips.configure`), so a failed
call is described by the input alone: its format, the stage that failed, whether its bytes
end early, and for TIFF the variant it uses. The same input always gets the same message,
whatever else runs at the same time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum

import pyvips

from darkroom.errors import CorruptImage, DarkroomError, ImageError, UnsupportedFormat
from darkroom.imaging._isobmff import CODECS, DERIVED, primary_item_type
from darkroom.imaging._tiff import read_first_directory, unsupported_reason
from darkroom.imaging.formats import ImageFormat


class Stage(StrEnum):
    """Which part of the work failed."""

    HEADER = "header"
    DECODE = "decode"


_WHAT_FAILED = {
    Stage.HEADER: "header cannot be read",
    Stage.DECODE: "image cannot be decoded",
}
_PROBLEMS = {
    "truncated": "the file ends before its image data does (truncated)",
    "damaged": "its data is damaged or not valid for the format",
}


def refusal(data: bytes, fmt: ImageFormat, stage: Stage) -> ImageError:
    """The error for `data` failing to load as `fmt` at `stage`."""
    unsupported = unsupported_variant(data, fmt)
    if unsupported is not None:
        return unsupported
    problem = "truncated" if cut_short(data, fmt) else "damaged"
    return CorruptImage(
        f"The {fmt.name} {_WHAT_FAILED[stage]}: {_PROBLEMS[problem]}.",
        details={"format": fmt.value, "stage": stage.value, "problem": problem},
    )


def unsupported_variant(data: bytes, fmt: ImageFormat) -> UnsupportedFormat | None:
    """A valid file in a variant this server cannot decode (TIFF, HEIF), or None."""
    if fmt is ImageFormat.TIFF:
        directory = read_first_directory(data)
        reason = unsupported_reason(directory) if directory is not None else None
        advice = (
            "Convert it to PNG, JPEG or a TIFF with LZW, Deflate or JPEG compression and "
            "8 or 16 bits per sample."
        )
    elif fmt in (ImageFormat.HEIF, ImageFormat.AVIF):
        reason = _heif_codec_reason(data)
        advice = "HEIF coded with HEVC (HEIC) or AV1 (AVIF) is accepted."
    else:
        return None
    if reason is None:
        return None
    return UnsupportedFormat(
        f"This {fmt.name} cannot be decoded here: {reason}. {advice}",
        details={"format": fmt.value, "reason": reason},
    )


def _heif_codec_reason(data: bytes) -> str | None:
    kind = primary_item_type(data)
    if kind is None or kind in DECODABLE_ITEMS or kind in DERIVED:
        return None
    codec = CODECS.get(kind, repr(kind.decode("latin-1")))
    return f"its image is coded with {codec}"


DECODABLE_ITEMS = frozenset({b"hvc1", b"av01"})
"""HEVC through the `heif` extra (refused with its install hint without it), AV1 by libvips."""

LIBVIPS_FAILURES: tuple[type[Exception], ...] = (pyvips.Error,)
ANY_DECODER_FAILURE: tuple[type[Exception], ...] = (Exception,)
"""For calls into Pillow and pi-heif, whose failures have no common base class."""


@contextmanager
def refusing(
    data: bytes,
    fmt: ImageFormat,
    stage: Stage,
    catch: tuple[type[Exception], ...] = LIBVIPS_FAILURES,
) -> Iterator[None]:
    """Turn a decoder failure (`catch`) inside the block into the refusal for `data`.

    Darkroom's own errors pass through, and so does MemoryError: it is the server's
    problem, not the input's.
    """
    try:
        yield
    except (DarkroomError, MemoryError):
        raise
    except catch:
        raise refusal(data, fmt, stage) from None


# --- did the bytes end early? ------------------------------------------------------------


def cut_short(data: bytes, fmt: ImageFormat) -> bool:
    """Whether the file visibly ends before its structure says it should."""
    check = _CUT_SHORT.get(fmt)
    return check is not None and check(data)


def _jpeg_cut_short(data: bytes) -> bool:
    # No end-of-image marker after the last start-of-scan (or no scan at all).
    scan = data.rfind(b"\xff\xda")
    return scan < 0 or data.find(b"\xff\xd9", scan) < 0


def _boxes_cut_short(data: bytes) -> bool:
    # ISO-BMFF: a top-level box reaching past the end of the file.
    position = 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
        if size == 0:
            return False
        if size < 8 or position + size > len(data):
            return True
        position += size
    return position != len(data)


def _tiff_cut_short(data: bytes) -> bool:
    directory = read_first_directory(data)
    return directory is None or directory.data_end > len(data)


def _icon_cut_short(data: bytes) -> bool:
    count = int.from_bytes(data[4:6], "little")
    for index in range(count):
        entry = 6 + 16 * index
        if entry + 16 > len(data):
            return True
        size = int.from_bytes(data[entry + 8 : entry + 12], "little")
        offset = int.from_bytes(data[entry + 12 : entry + 16], "little")
        if offset + size > len(data):
            return True
    return False


_CUT_SHORT: dict[ImageFormat, Callable[[bytes], bool]] = {
    ImageFormat.JPEG: _jpeg_cut_short,
    ImageFormat.PNG: lambda data: data.rfind(b"IEND") < 0,
    ImageFormat.GIF: lambda data: not data.rstrip(b"\x00").endswith(b";"),
    ImageFormat.WEBP: lambda data: int.from_bytes(data[4:8], "little") + 8 > len(data),
    ImageFormat.AVIF: _boxes_cut_short,
    ImageFormat.HEIF: _boxes_cut_short,
    ImageFormat.TIFF: _tiff_cut_short,
    ImageFormat.BMP: lambda data: int.from_bytes(data[2:6], "little") > len(data),
    ImageFormat.ICO: _icon_cut_short,
    ImageFormat.CUR: _icon_cut_short,
}
