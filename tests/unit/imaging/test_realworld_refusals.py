"""Files of the real-world corpus that once got the wrong answer, each with its right one."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom import errors
from darkroom.imaging import probe, render
from darkroom.imaging._isobmff import primary_item_type

REALWORLD = Path(__file__).parents[2] / "fixtures" / "realworld"


def read(name: str) -> bytes:
    return (REALWORLD / name).read_bytes()


def outcome(name: str) -> type[errors.DarkroomError] | None:
    try:
        render(read(name), {"width": 64, "format": "png"})
    except errors.DarkroomError as exc:
        return type(exc)
    return None


def test_a_bigtiff_offset_past_any_index_is_corrupt_not_a_crash() -> None:
    with pytest.raises(errors.CorruptImage):
        probe(read("pillow/seek_too_large.tif"))


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("libheif/fuzzing/data/corpus/avc32.heif", "H.264 (AVC)"),
        ("libheif/fuzzing/data/corpus/j2k32.heif", "JPEG 2000"),
        ("libheif/fuzzing/data/corpus/jpeg32.heif", "JPEG"),
        ("libheif/fuzzing/data/corpus/vvc32.heif", "H.266 (VVC)"),
        ("libheif/tests/data/uncompressed_comp_RGB.heif", "uncompressed"),
    ],
)
def test_heif_in_another_codec_is_unsupported_naming_the_codec(name: str, codec: str) -> None:
    with pytest.raises(errors.UnsupportedFormat) as refused:
        render(read(name), {"width": 64})
    assert f"coded with {codec}" in refused.value.message
    assert "HEVC (HEIC) or AV1 (AVIF)" in refused.value.message


def test_the_primary_item_type_is_read_from_the_meta_box() -> None:
    assert primary_item_type(read("libheif/fuzzing/data/corpus/hevc32.heif")) == b"hvc1"
    assert primary_item_type(read("libheif/fuzzing/data/corpus/avif32.heif")) == b"av01"
    assert primary_item_type(b"\x00\x00\x00\x10ftypheic") is None
    assert primary_item_type(b"") is None


def test_a_twelve_bit_tiff_is_unsupported_with_the_reason() -> None:
    with pytest.raises(errors.UnsupportedFormat, match="12-bit samples"):
        render(read("pillow/12bit.cropped.tif"), {"width": 64})


@pytest.mark.parametrize("name", ["pillow/mask_1.cur", "pillow/mask_L.cur"])
def test_a_cursor_whose_directory_misstates_the_size_is_read(name: str) -> None:
    assert outcome(name) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bmpsuite/b/badwidth.bmp", "width is not a positive number"),
        ("bmpsuite/b/badbitcount.bmp", "declares 30000 bits per pixel"),
    ],
)
def test_a_bmp_header_that_no_bmp_can_have_is_corrupt(name: str, message: str) -> None:
    with pytest.raises(errors.CorruptImage, match=message):
        probe(read(name))
