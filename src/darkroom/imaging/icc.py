"""Just enough ICC parsing to tell whether an embedded profile is already sRGB."""

from __future__ import annotations

_HEADER_SIZE = 128
_MAX_TAGS = 256


def profile_description(icc: bytes) -> str | None:
    """The profile's `desc` text (ICC v2 `desc` or v4 `mluc`), or None if unreadable."""
    if len(icc) < _HEADER_SIZE + 4:
        return None
    count = min(int.from_bytes(icc[128:132], "big"), _MAX_TAGS)
    for index in range(count):
        entry = _HEADER_SIZE + 4 + 12 * index
        if entry + 12 > len(icc):
            return None
        if icc[entry : entry + 4] != b"desc":
            continue
        offset = int.from_bytes(icc[entry + 4 : entry + 8], "big")
        size = int.from_bytes(icc[entry + 8 : entry + 12], "big")
        return _decode_text(icc[offset : offset + size])
    return None


def _decode_text(tag: bytes) -> str | None:
    kind = tag[:4]
    if kind == b"desc" and len(tag) >= 12:
        length = int.from_bytes(tag[8:12], "big")
        return tag[12 : 12 + length].split(b"\0", 1)[0].decode("latin-1")
    if kind == b"mluc" and len(tag) >= 28:
        length = int.from_bytes(tag[20:24], "big")
        offset = int.from_bytes(tag[24:28], "big")
        return tag[offset : offset + length].decode("utf-16-be", errors="replace")
    return None


def is_srgb(icc: bytes) -> bool:
    """Whether an RGB profile describes itself as sRGB, so converting to sRGB is a no-op."""
    if icc[16:20] != b"RGB ":
        return False
    description = profile_description(icc)
    return description is not None and "srgb" in description.lower()
