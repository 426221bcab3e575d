"""JPEGs whose only fault is junk libjpeg skips are accepted; cut or damaged scans are not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pyvips

from darkroom import errors
from darkroom.imaging import probe, render, verify
from darkroom.imaging._jpeg import without_junk_between_segments
from tests.unit.imaging.inputs import (
    insert_before_marker,
    jpeg_segments,
    quadrants,
    vips_from_pillow,
    with_short_exif_segment,
)

DQT, SOF0, DHT, SOS = 0xDB, 0xC0, 0xC4, 0xDA


@pytest.fixture(scope="module")
def clean() -> bytes:
    return bytes(vips_from_pillow(quadrants(160, 120)).jpegsave_buffer(Q=95))


JUNK: dict[str, Callable[[bytes], bytes]] = {
    "before DQT": lambda d: insert_before_marker(d, DQT, b"\x00\x11\x22junk"),
    "before SOF": lambda d: insert_before_marker(d, SOF0, b"\x00\x00\x00"),
    "before DHT": lambda d: insert_before_marker(d, DHT, b"\xff\x00\x17"),  # a stuffed FF00 too
    "before SOS": lambda d: insert_before_marker(d, SOS, b"\x0d\x0a"),
    "EXIF segment too short": with_short_exif_segment,
    "right after SOI": lambda d: d[:2] + b"\x00\x00" + d[2:],
}


@pytest.mark.parametrize("damage", JUNK.values(), ids=JUNK.keys())
def test_junk_before_a_marker_is_accepted_and_renders_the_same_pixels(
    clean: bytes, damage: Callable[[bytes], bytes]
) -> None:
    data = damage(clean)
    # The fault is real: libvips' strict decoding refuses these bytes as they are.
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(data, "", fail_on="warning").avg()

    assert probe(data) == probe(clean)
    assert verify(data) == probe(clean)
    spec = {"width": 80, "format": "png"}
    got = pyvips.Image.new_from_buffer(render(data, spec).data, "")
    want = pyvips.Image.new_from_buffer(render(clean, spec).data, "")
    assert (got.width, got.height) == (80, 60)
    assert (got - want).abs().max() == 0


def test_only_the_skipped_bytes_are_removed(clean: bytes) -> None:
    assert without_junk_between_segments(clean) is clean
    junk = insert_before_marker(clean, SOF0, b"\x01\x02\x03")
    assert without_junk_between_segments(junk) == clean
    # Fill bytes (repeated 0xFF before a marker) are part of the marker, not junk.
    at = jpeg_segments(clean)[1][0]
    filled = clean[:at] + b"\xff\xff" + clean[at:]
    assert without_junk_between_segments(filled) is filled
    # Entropy-coded data after the start of scan is left alone, whatever it holds.
    scan = _scan_start(clean)
    odd_scan = clean[:scan] + b"\x00\xff\x00\x00" + clean[scan:]
    assert without_junk_between_segments(odd_scan) is odd_scan


def _scan_start(data: bytes) -> int:
    offset = jpeg_segments(data)[-1][0]
    return offset + 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")


TRUNCATED: dict[str, Callable[[bytes], bytes]] = {
    "cut in the scan": lambda d: d[: (_scan_start(d) + len(d)) // 2],
    "cut one byte before the end": lambda d: d[:-1],
    "cut, then closed with an end marker": lambda d: (
        d[: (_scan_start(d) + len(d)) // 2] + b"\xff\xd9"
    ),
    "cut, with junk before a header marker too": lambda d: insert_before_marker(
        d, DQT, b"\x00\x00"
    )[: (_scan_start(d) + len(d)) // 2],
}


@pytest.mark.parametrize("damage", TRUNCATED.values(), ids=TRUNCATED.keys())
def test_truncated_or_damaged_scans_are_refused(
    clean: bytes, damage: Callable[[bytes], bytes]
) -> None:
    data = damage(clean)
    probe(data)  # the header is intact
    for call in (verify, lambda d: render(d, {"width": 80, "format": "png"})):
        with pytest.raises(errors.CorruptImage) as caught:
            call(data)
        assert caught.value.status_code == 422
        assert caught.value.message.startswith("The JPEG image cannot be decoded: ")
        assert caught.value.details["stage"] == "decode"


def test_a_cut_file_is_said_to_be_truncated(clean: bytes) -> None:
    with pytest.raises(errors.CorruptImage) as caught:
        verify(TRUNCATED["cut in the scan"](clean))
    assert caught.value.details["problem"] == "truncated"
    assert "truncated" in caught.value.message
    with pytest.raises(errors.CorruptImage) as caught:
        verify(TRUNCATED["cut, then closed with an end marker"](clean))
    assert caught.value.details["problem"] == "damaged"
