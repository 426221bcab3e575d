"""Dropping the junk libjpeg skips between header segments, so strict decoding can stay on.

libjpeg meets stray bytes before a marker ("Corrupt JPEG data: N extraneous bytes before
marker 0xdb"), skips them and warns. Cameras and editors produce them between header
segments, most often by writing an EXIF segment whose declared length is too short. libvips
can only be told to ignore warnings wholesale (`fail_on=error` or `truncated`), and that
also accepts damaged scans: a file cut short and closed with an end marker decodes with a
grey lower part. Removing exactly the bytes libjpeg would skip, before the first scan only,
keeps `fail_on=warning` for everything that follows.
"""

from __future__ import annotations

from collections.abc import Iterator

_SOI, _SOS, _EOI = 0xD8, 0xDA, 0xD9
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
"""Markers without a length field: TEM and RST0-RST7."""
_MAX_SEGMENTS = 4096
_FRAMES = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
"""Start-of-frame markers; 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the range."""


def without_junk_between_segments(data: bytes) -> bytes:
    """`data` with the bytes libjpeg would skip before header markers removed.

    The same object comes back when there are none (nearly always). Stops at the first
    start-of-scan: entropy-coded data is left to libjpeg and its warnings.
    """
    kept: list[bytes] = []
    start = 0
    for expected, marker_at, _ in _header_markers(data):
        if marker_at != expected:
            kept.append(data[start:expected])  # everything before the junk
            start = marker_at
    if not kept:
        return data
    kept.append(data[start:])
    return b"".join(kept)


def frame_marker(data: bytes) -> int | None:
    """The start-of-frame marker (0xC0-0xCF, the coding process) of a JPEG, if found."""
    for _, _, code_at in _header_markers(data):
        if data[code_at] in _FRAMES:
            return data[code_at]
    return None


def _header_markers(data: bytes) -> Iterator[tuple[int, int, int]]:
    """The JPEG's header markers, as libjpeg walks them: for each, where it should have
    started, where its 0xFF run does start, and where its code is. Ends with the first
    start-of-scan, end-of-image or second start-of-image, or a length it cannot step over.
    """
    if not data.startswith(b"\xff\xd8"):
        return
    position = 2
    for _ in range(_MAX_SEGMENTS):
        found = _next_marker(data, position)
        if found is None:
            return
        marker_at, code_at = found
        yield position, marker_at, code_at
        marker = data[code_at]
        if marker in (_SOS, _EOI, _SOI):
            return
        if marker in _STANDALONE:
            position = code_at + 1
            continue
        length = int.from_bytes(data[code_at + 1 : code_at + 3], "big")
        if length < 2:
            return
        position = code_at + 1 + length


def _next_marker(data: bytes, position: int) -> tuple[int, int] | None:
    """(where the marker's 0xFF run starts, where its code is) for the next marker.

    Like libjpeg's next_marker(): bytes other than 0xFF and stuffed FF00 pairs are skipped
    as extraneous; fill bytes (repeated 0xFF) belong to the marker.
    """
    while True:
        at = data.find(b"\xff", position)
        if at < 0:
            return None
        code_at = at + 1
        while code_at < len(data) and data[code_at] == 0xFF:
            code_at += 1
        if code_at >= len(data):
            return None
        if data[code_at] != 0:
            return at, code_at
        position = code_at + 1
