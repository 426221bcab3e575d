"""Valid TIFF variants libvips cannot decode are 415 with the reason; damage stays 422."""

from __future__ import annotations

import io
import lzma
import struct
import zlib
from collections.abc import Callable

import pytest
import pyvips
from PIL import Image

from darkroom import errors
from darkroom.imaging import ImageFormat, probe, render, verify
from darkroom.imaging._tiff import KNOWN_COMPRESSIONS, UNDECODABLE_COMPRESSIONS
from darkroom.imaging.formats import sniff
from tests.unit.imaging.inputs import encode, pixel, quadrants, tiff, vips_solid

SIDE = 16
COLOUR = (200, 30, 60)
RGB = bytes(COLOUR) * (SIDE * SIDE)


def zstd_frame(payload: bytes) -> bytes:
    """A valid Zstandard frame holding `payload` as one raw block (no compressor needed)."""
    assert 256 <= len(payload) < 65536 + 256
    header = b"\x28\xb5\x2f\xfd" + bytes([0x60]) + struct.pack("<H", len(payload) - 256)
    block = (1 | len(payload) << 3).to_bytes(3, "little")  # last block, raw
    return header + block + payload


def jpeg_strip() -> bytes:
    return bytes(vips_solid(SIDE, SIDE, COLOUR).jpegsave_buffer(Q=95))


PLANES = [bytes([value]) * (SIDE * SIDE) for value in COLOUR]

UNSUPPORTED: dict[str, tuple[Callable[[], bytes], str]] = {
    "LZMA": (lambda: tiff(SIDE, SIDE, 3, [lzma.compress(RGB)], compression=34925), "LZMA"),
    "Zstandard": (lambda: tiff(SIDE, SIDE, 3, [zstd_frame(RGB)], compression=50000), "Zstandard"),
    "old-style JPEG": (
        lambda: tiff(SIDE, SIDE, 3, [jpeg_strip()], compression=6, photometric=6),
        "old-style JPEG",
    ),
    "JPEG 2000": (lambda: tiff(SIDE, SIDE, 3, [b"\x00" * 64], compression=34712), "JPEG 2000"),
    "JPEG XL": (lambda: tiff(SIDE, SIDE, 3, [b"\x00" * 64], compression=50002), "JPEG XL"),
    "LERC": (lambda: tiff(SIDE, SIDE, 3, [b"\x00" * 64], compression=34887), "LERC"),
    "JBIG": (lambda: tiff(SIDE, SIDE, 1, [b"\x00" * 64], bits=1, compression=34661), "JBIG"),
    "PixarLog": (lambda: tiff(SIDE, SIDE, 3, [b"\x00" * 64], compression=32909), "PixarLog"),
    "unknown codec": (lambda: tiff(SIDE, SIDE, 3, [RGB], compression=12345), "scheme 12345"),
    "tiled planar": (
        lambda: tiff(SIDE, SIDE, 3, PLANES, planar=2, tile=(SIDE, SIDE)),
        "tiled planar",
    ),
    "8-bit CIELab (LabQ)": (
        lambda: tiff(SIDE, SIDE, 3, [bytes([60, 10, 246]) * (SIDE * SIDE)], photometric=8),
        "LabQ",
    ),
    "LZMA in a BigTIFF": (
        lambda: tiff(SIDE, SIDE, 3, [lzma.compress(RGB)], compression=34925, big=True),
        "LZMA",
    ),
}


@pytest.mark.parametrize(("make", "reason"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_valid_variants_libvips_cannot_decode_are_unsupported_with_the_reason(
    make: Callable[[], bytes], reason: str
) -> None:
    data = make()
    # They really are beyond this libvips (pyvips[binary]): its own strict load fails (at
    # libvips' default fail_on=none most "decode" to black).
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(data, "", fail_on="warning").avg()
    for call in (probe, verify, lambda d: render(d, {"width": 8, "format": "png"})):
        with pytest.raises(errors.UnsupportedFormat) as caught:
            call(data)
        assert caught.value.status_code == 415
        assert reason in caught.value.message
        assert reason in caught.value.details["reason"]


DECODABLE = {
    "none": {},
    "LZW": {"compression": "tiff_lzw"},
    "Deflate": {"compression": "tiff_adobe_deflate"},
    "PackBits": {"compression": "packbits"},
    "JPEG": {"compression": "jpeg"},
}


@pytest.mark.parametrize("params", DECODABLE.values(), ids=DECODABLE.keys())
def test_decodable_compressions_are_accepted(params: dict[str, str]) -> None:
    data = encode(quadrants(32, 24), "TIFF", **params)
    compression = Image.open(io.BytesIO(data)).getexif()[259]
    assert compression in KNOWN_COMPRESSIONS
    assert compression not in UNDECODABLE_COMPRESSIONS
    assert verify(data).width == 32
    assert render(data, {"width": 16, "format": "png"}).height == 12


def test_webp_and_separate_strip_planes_decode() -> None:
    webp = bytes(vips_solid(SIDE, SIDE, COLOUR).webpsave_buffer(lossless=True))
    for data in (
        tiff(SIDE, SIDE, 3, [webp], compression=50001),
        tiff(SIDE, SIDE, 3, PLANES, planar=2),  # planar in strips is fine; only tiles are not
        tiff(SIDE, SIDE, 3, [zlib.compress(RGB)], compression=8),
    ):
        out = pyvips.Image.new_from_buffer(render(data, {"format": "png"}).data, "")
        assert out.getpoint(8, 8) == list(COLOUR)


def test_damaged_and_truncated_tiffs_stay_corrupt() -> None:
    not_lzw = tiff(SIDE, SIDE, 3, [b"\x80" + b"\xff" * 40], compression=5)
    with pytest.raises(errors.CorruptImage) as caught:
        verify(not_lzw)
    assert caught.value.details["problem"] == "damaged"

    cut = tiff(SIDE, SIDE, 3, [RGB[: len(RGB) // 2]], byte_counts=[len(RGB)])
    for call in (verify, lambda d: render(d, {"width": 8})):
        with pytest.raises(errors.CorruptImage) as caught:
            call(cut)
        assert caught.value.status_code == 422
        assert caught.value.details["problem"] == "truncated"


@pytest.mark.parametrize("order", ["<", ">"], ids=["II+ (little-endian)", "MM+ (big-endian)"])
def test_bigtiff_is_sniffed_and_decoded(order: str) -> None:
    image = quadrants(SIDE * 2, SIDE, "RGB")
    data = tiff(SIDE * 2, SIDE, 3, [image.tobytes()], big=True, order=order)
    assert data[:4] == (b"II+\x00" if order == "<" else b"MM\x00+")
    assert sniff(data) is ImageFormat.TIFF
    info = verify(data)
    assert (info.format, info.width, info.height, info.loader) == (
        ImageFormat.TIFF,
        SIDE * 2,
        SIDE,
        "tiffload_buffer",
    )
    out = pyvips.Image.new_from_buffer(render(data, {"format": "png"}).data, "")
    assert out.getpoint(2, 2) == pixel(image, 2, 2)
    assert out.getpoint(SIDE * 2 - 3, SIDE - 3) == pixel(image, SIDE * 2 - 3, SIDE - 3)
