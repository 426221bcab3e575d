"""Reading a HEIF's primary item type ourselves, to say which codec a refused file uses.

libheif reports "unsupported codec" through libvips' shared error text, which Darkroom
never reads (see `_vips.configure`); the item type in the file's own `meta` box says it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

CODECS = {
    b"hvc1": "HEVC",
    b"av01": "AV1",
    b"avc1": "H.264 (AVC)",
    b"vvc1": "H.266 (VVC)",
    b"j2k1": "JPEG 2000",
    b"jpeg": "JPEG",
    b"unci": "uncompressed (ISO/IEC 23001-17)",
    b"mski": "a mask",
}
DERIVED = {b"grid", b"iovl", b"iden", b"tmap"}
"""Item types built from other items: the codec is the tiles', not the item's."""


def primary_item_type(data: bytes) -> bytes | None:
    """The 4-character type of the primary item of a HEIF/AVIF file, or None if not found."""
    try:
        meta = next((body for kind, body in _boxes(data) if kind == b"meta"), None)
        if meta is None:
            return None
        children = dict(_boxes(meta[4:]))  # meta is a full box: skip version and flags
        primary = _primary_id(children.get(b"pitm"))
        infos = children.get(b"iinf")
        if primary is None or infos is None:
            return None
        version = infos[0]
        start = 6 if version == 0 else 8
        for kind, infe in _boxes(infos[start:]):
            if kind == b"infe" and infe[0] >= 2:
                id_size = 2 if infe[0] == 2 else 4
                item_id = int.from_bytes(infe[4 : 4 + id_size], "big")
                if item_id == primary:
                    at = 4 + id_size + 2  # after the protection index
                    return bytes(infe[at : at + 4])
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _primary_id(pitm: bytes | None) -> int | None:
    if pitm is None or len(pitm) < 6:
        return None
    return int.from_bytes(pitm[4:6] if pitm[0] == 0 else pitm[4:8], "big")


def _boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    position = 0
    while position + 8 <= len(data):
        size = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        header = 8
        if size == 1:
            size = int.from_bytes(data[position + 8 : position + 16], "big")
            header = 16
        elif size == 0:
            size = len(data) - position
        if size < header or position + size > len(data):
            return
        yield kind, data[position + header : position + size]
        position += size
