"""Reading a TIFF's first directory ourselves, to say why libvips cannot decode a valid file."""

from __future__ import annotations

import struct
from dataclasses import dataclass

COMPRESSION = 259
PHOTOMETRIC = 262
BITS_PER_SAMPLE = 258
PLANAR_CONFIGURATION = 284
TILE_WIDTH = 322
STRIP_OFFSETS, STRIP_BYTE_COUNTS = 273, 279
TILE_OFFSETS, TILE_BYTE_COUNTS = 324, 325

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}
_UNSIGNED = {1: "B", 3: "H", 4: "I", 16: "Q"}
_MAX_ENTRIES = 4096
_MAX_VALUES = 1 << 20

UNDECODABLE_COMPRESSIONS = {
    6: "old-style JPEG",
    32909: "PixarLog",
    34661: "JBIG",
    34712: "JPEG 2000",
    34887: "LERC",
    34925: "LZMA",
    50000: "Zstandard",
    50002: "JPEG XL",
}
"""Codecs the libtiff inside `pyvips[binary]` 8.18 lacks ("... support is not configured").

Tests decode real LZMA, Zstandard and old-style JPEG TIFFs to keep this true.
"""

DECODABLE_SAMPLE_BITS = {1, 2, 4, 8, 16, 32, 64}
"""libvips reads whole bytes per sample, or 1, 2 and 4 bits packed; not 10, 12 or 24."""

KNOWN_COMPRESSIONS = {1, 2, 3, 4, 5, 7, 8, 32766, 32771, 32773, 32809, 32946, 34676, 34677, 50001}
"""Codecs it decodes: none, CCITT, LZW, JPEG, Deflate, NeXT, PackBits, ThunderScan, LogLuv,
WebP. Any other code is not a codec libtiff knows."""


@dataclass(frozen=True, slots=True)
class Directory:
    """The tags of a TIFF's first image that decide whether libvips can decode it."""

    tags: dict[int, tuple[int, ...]]

    def first(self, tag: int, default: int) -> int:
        """The first value of `tag`, or `default`."""
        values = self.tags.get(tag)
        return values[0] if values else default

    @property
    def data_end(self) -> int:
        """Where the last strip or tile of pixel data ends."""
        ends = [0]
        for offsets, counts in (
            (STRIP_OFFSETS, STRIP_BYTE_COUNTS),
            (TILE_OFFSETS, TILE_BYTE_COUNTS),
        ):
            pairs = zip(self.tags.get(offsets, ()), self.tags.get(counts, ()), strict=False)
            ends.extend(offset + count for offset, count in pairs)
        return max(ends)


def read_first_directory(data: bytes) -> Directory | None:
    """IFD0 of a classic TIFF or a BigTIFF, or None when the structure itself is broken."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return None
    version = struct.unpack_from(order + "H", data, 2)[0]
    big = version == 43
    try:
        if big:
            offset = struct.unpack_from(order + "Q", data, 8)[0]
            count = struct.unpack_from(order + "Q", data, offset)[0]
            entries_at, entry_size, inline = offset + 8, 20, 8
        else:
            offset = struct.unpack_from(order + "I", data, 4)[0]
            count = struct.unpack_from(order + "H", data, offset)[0]
            entries_at, entry_size, inline = offset + 2, 12, 4
        if count > _MAX_ENTRIES:
            return None
        tags = {}
        for index in range(count):
            at = entries_at + index * entry_size
            tag, kind = struct.unpack_from(order + "HH", data, at)
            number = struct.unpack_from(order + ("Q" if big else "I"), data, at + 4)[0]
            if kind not in _UNSIGNED or number > _MAX_VALUES:
                continue
            size = _TYPE_SIZES[kind] * number
            value_at = at + (12 if big else 8)
            if size > inline:
                value_at = struct.unpack_from(order + ("Q" if big else "I"), data, value_at)[0]
            tags[tag] = struct.unpack_from(order + _UNSIGNED[kind] * number, data, value_at)
    except (struct.error, OverflowError):
        # Offsets past the end, or too large for an index at all (BigTIFF's are 64-bit).
        return None
    return Directory(tags)


def unsupported_reason(directory: Directory) -> str | None:
    """Why libvips cannot decode this valid TIFF variant, or None if it should."""
    compression = directory.first(COMPRESSION, 1)
    if compression in UNDECODABLE_COMPRESSIONS:
        return f"its pixels are compressed with {UNDECODABLE_COMPRESSIONS[compression]}"
    if compression not in KNOWN_COMPRESSIONS:
        return f"its pixels use compression scheme {compression}, which is not a known codec"
    if TILE_WIDTH in directory.tags and directory.first(PLANAR_CONFIGURATION, 1) == 2:
        return "it stores its colour planes separately in tiles (tiled planar)"
    if directory.first(PHOTOMETRIC, 2) == 8 and directory.first(BITS_PER_SAMPLE, 8) == 8:
        return "it holds 8-bit CIELab (LabQ) pixels"
    bits = directory.first(BITS_PER_SAMPLE, 1)
    if bits not in DECODABLE_SAMPLE_BITS:
        return f"it has {bits}-bit samples"
    return None
