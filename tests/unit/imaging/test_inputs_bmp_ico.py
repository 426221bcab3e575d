"""BMP/DIB and ICO/CUR through Pillow: header-first limits, then the libvips pipeline."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import pytest
import pyvips
from PIL import Image

from darkroom import errors
from darkroom.imaging import ImageFormat, Limits, probe, render, verify
from darkroom.imaging._foreign import Decoder
from tests.unit.imaging.inputs import (
    BLUE,
    GREEN,
    QUADRANTS,
    RED,
    bmp,
    cursor,
    encode,
    pixel,
    png,
    quadrants,
)

W, H = 40, 30
CORNERS = [(2, 2), (W - 3, 2), (2, H - 3), (W - 3, H - 3)]


def decoded(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def corners(image: pyvips.Image) -> list[list[float]]:
    return [image.getpoint(x, y)[:3] for x, y in CORNERS]


# --- BMP -----------------------------------------------------------------------------------

PILLOW_BMPS = {
    "24-bit": ("RGB", 3),
    "8-bit palette": ("P", 3),
    "8-bit grey": ("L", 1),
    "1-bit": ("1", 1),
}


@pytest.mark.parametrize(("mode", "bands"), PILLOW_BMPS.values(), ids=PILLOW_BMPS.keys())
def test_bmp_decodes_through_pillow_into_the_pipeline(mode: str, bands: int) -> None:
    source = quadrants(W, H, mode)
    data = encode(source, "BMP")
    info = verify(data)
    assert (info.format, info.decoder, info.width, info.height, info.bands) == (
        ImageFormat.BMP,
        Decoder.PILLOW,
        W,
        H,
        bands,
    )
    result = render(data, {"format": "png"})
    assert (result.width, result.height, result.format) == (W, H, ImageFormat.PNG)
    want = source.convert("RGB")
    assert corners(decoded(result.data).colourspace("srgb")) == [
        pixel(want, x, y) for x, y in CORNERS
    ]


def _rows(image: Image.Image, bits: int, pack: str) -> bytes:
    """Bottom-up BMP rows, each padded to 4 bytes."""
    rows = []
    for y in reversed(range(image.height)):
        row = b"".join(struct.pack(pack, *_pack(pixel(image, x, y), bits)) for x in range(W))
        rows.append(row + b"\x00" * (-len(row) % 4))
    return b"".join(rows)


def _pack(samples: list[int], bits: int) -> tuple[int, ...]:
    r, g, b, *a = samples
    if bits == 16:  # 5-6-5
        return ((r >> 3) << 11 | (g >> 2) << 5 | b >> 3,)
    return ((a[0] if a else 255) << 24 | r << 16 | g << 8 | b,)


def test_hand_built_bmp_variants() -> None:
    source = quadrants(W, H)
    rgb565 = bmp(W, H, 16, _rows(source, 16, "<H"), compression=3, masks=(0xF800, 0x7E0, 0x1F))
    out = decoded(render(rgb565, {"format": "png"}).data)
    for got, want in zip(corners(out), QUADRANTS, strict=True):
        assert got == pytest.approx(list(want), abs=8)  # 5-6-5 keeps the top bits

    # RLE8: each row one run per quadrant, palette index 0 (red) and 1 (blue).
    palette = bytes([*RED[::-1], 0, *BLUE[::-1], 0])
    rows = b"".join(bytes([W // 2, 0, W // 2, 1, 0, 0]) for _ in range(H)) + b"\x00\x01"
    rle = bmp(W, H, 8, rows, compression=1, palette=palette)
    out = decoded(render(rle, {"format": "png"}).data)
    assert out.getpoint(2, 2) == list(RED)
    assert out.getpoint(W - 3, H - 3) == list(BLUE)


def test_os2_and_top_down_bmps() -> None:
    source = quadrants(W, H)
    bgr = [b"".join(bytes(pixel(source, x, y)[::-1]) for x in range(W)) for y in range(H)]
    bottom_up, top_down = b"".join(reversed(bgr)), b"".join(bgr)  # 40 px * 3: no padding
    core = struct.pack("<IHHHH", 12, W, H, 1, 24)  # OS/2 1.x BITMAPCOREHEADER
    os2 = b"BM" + struct.pack("<IHHI", 26 + len(bottom_up), 0, 0, 26) + core + bottom_up
    flipped = bmp(W, -H, 24, top_down)  # a negative height: rows stored top first
    for data in (os2, flipped):
        assert (probe(data).width, probe(data).height) == (W, H)
        assert corners(decoded(render(data, {"format": "png"}).data)) == [
            list(colour) for colour in QUADRANTS
        ]


def test_bmp_with_alpha_keeps_it() -> None:
    source = quadrants(W, H, "RGBA")
    source.putpixel((0, 0), (*RED, 0))
    v4 = struct.pack("<IiiHHIIiiII", 108, W, H, 1, 32, 3, 0, 2835, 2835, 0, 0)
    v4 += struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000) + b"\x00" * 52
    pixels = _rows(source, 32, "<I")
    data = b"BM" + struct.pack("<IHHI", 14 + len(v4) + len(pixels), 0, 0, 14 + len(v4)) + v4
    data += pixels
    info = probe(data)
    assert info.has_alpha
    assert info.bands == 4
    out = decoded(render(data, {"format": "png"}).data)
    assert out.bands == 4
    assert out.getpoint(0, 0)[3] == 0
    assert out.getpoint(5, 5) == [*RED, 255]


UNSUPPORTED_BMPS: dict[str, tuple[Callable[[], bytes], str]] = {
    "JPEG inside": (lambda: bmp(W, H, 24, b"\xff\xd8\xff\xd9", compression=4), "JPEG"),
    "PNG inside": (lambda: bmp(W, H, 24, png(W, H, RED), compression=5), "PNG"),
    "2 bits per pixel": (lambda: bmp(W, H, 2, b"\x00" * 400), "2 bits"),
    "10-10-10 bit fields": (
        lambda: bmp(W, H, 32, b"\x00" * 4800, compression=3, masks=(0x3FF00000, 0xFFC00, 0x3FF)),
        "bit-field layout",
    ),
}


@pytest.mark.parametrize(("make", "reason"), UNSUPPORTED_BMPS.values(), ids=UNSUPPORTED_BMPS)
def test_bmp_variants_pillow_cannot_read_are_unsupported(
    make: Callable[[], bytes], reason: str
) -> None:
    for call in (probe, verify, lambda d: render(d, {"width": 8})):
        with pytest.raises(errors.UnsupportedFormat, match=reason) as caught:
            call(make())
        assert caught.value.status_code == 415


def test_truncated_bmp_is_corrupt_after_an_intact_header() -> None:
    data = encode(quadrants(W, H), "BMP")
    cut = data[: len(data) // 2]
    assert probe(cut).width == W
    with pytest.raises(errors.CorruptImage) as caught:
        verify(cut)
    assert caught.value.message.startswith("The BMP image cannot be decoded")
    assert caught.value.details["problem"] == "truncated"


def test_bmp_limits_come_from_the_header(forbid_pixel_decoding: Callable[[], None]) -> None:
    huge = bmp(30000, 30000, 24, b"\x00" * 64)  # declares 900 MP, holds 64 bytes
    data = encode(quadrants(W, H), "BMP")
    forbid_pixel_decoding()
    with pytest.raises(errors.TooManyPixels, match="30000x30000"):
        probe(huge)
    assert probe(data).width == W
    with pytest.raises(errors.TooManyPixels):
        probe(data, Limits(max_pixels=W * H - 1))
    with pytest.raises(errors.ImageTooLarge):
        probe(data, Limits(max_bytes=len(data) - 1))


def test_bmp_comes_out_as_png_or_jpeg_for_format_original() -> None:
    assert render(encode(quadrants(W, H), "BMP"), {}).format is ImageFormat.JPEG


# --- ICO / CUR ------------------------------------------------------------------------------


def three_sizes(bitmap_format: str = "png") -> bytes:
    """An icon of 16 (red), 32 (green) and 64 (blue) pixels, with a transparent corner."""
    images = []
    for size, colour in ((64, BLUE), (16, RED), (32, GREEN)):
        image = Image.new("RGBA", (size, size), (*colour, 255))
        image.putpixel((0, 0), (0, 0, 0, 0))
        images.append(image)
    sizes = [(16, 16), (32, 32), (64, 64)]
    return encode(
        images[0], "ICO", sizes=sizes, append_images=images[1:], bitmap_format=bitmap_format
    )


@pytest.mark.parametrize("bitmap_format", ["png", "bmp"])
def test_icon_renders_its_largest_image_with_alpha(bitmap_format: str) -> None:
    data = three_sizes(bitmap_format)
    info = verify(data)
    assert (info.format, info.decoder, info.width, info.height, info.has_alpha) == (
        ImageFormat.ICO,
        Decoder.PILLOW,
        64,
        64,
        True,
    )
    result = render(data, {"format": "png"})
    out = decoded(result.data)
    assert (out.width, out.height, out.bands) == (64, 64, 4)
    assert out.getpoint(32, 32) == [*BLUE, 255]
    assert out.getpoint(0, 0)[3] == 0
    assert render(data, {}).format is ImageFormat.PNG  # original: alpha, not writable


def test_cursor_is_an_icon_with_a_hotspot() -> None:
    data = cursor(three_sizes("bmp"))
    info = verify(data)
    assert (info.format, info.width, info.height) == (ImageFormat.CUR, 64, 64)
    out = decoded(render(data, {"format": "png"}).data)
    assert out.getpoint(32, 32) == [*BLUE, 255]
    assert out.getpoint(0, 0)[3] == 0


def _icon(entries: list[tuple[int, int, bytes]]) -> bytes:
    """An icon whose directory says (width, height) for each embedded image, as given."""
    out = struct.pack("<HHH", 0, 1, len(entries))
    offset = 6 + 16 * len(entries)
    bodies = b""
    for width, height, body in entries:
        out += struct.pack("<BBBBHHII", width % 256, height % 256, 0, 0, 1, 32, len(body), offset)
        offset += len(body)
        bodies += body
    return out + bodies


def test_icon_size_is_read_from_the_embedded_image_not_the_directory() -> None:
    data = _icon([(16, 16, png(300, 200, GREEN)), (32, 32, png(32, 32, RED))])
    info = probe(data)
    assert (info.width, info.height) == (300, 200)
    out = decoded(render(data, {"format": "png"}).data)
    assert (out.width, out.height) == (300, 200)
    assert out.getpoint(150, 100)[:3] == list(GREEN)


def test_icon_limits_come_from_the_embedded_header(
    forbid_pixel_decoding: Callable[[], None],
) -> None:
    bomb = bytearray(png(1, 1, RED))
    bomb[16:24] = struct.pack(">II", 30000, 30000)
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    icons = _icon([(16, 16, bytes(bomb))]), three_sizes(), cursor(three_sizes("bmp"))
    forbid_pixel_decoding()
    with pytest.raises(errors.TooManyPixels, match="30000x30000"):
        probe(icons[0])
    for data in icons[1:]:
        assert probe(data).width == 64
        with pytest.raises(errors.TooManyPixels):
            probe(data, Limits(max_pixels=64 * 64 - 1))


def test_a_bmp_or_an_icon_can_be_the_watermark() -> None:
    base = png(100, 100, RED)
    for mark in (encode(Image.new("RGB", (20, 20), BLUE), "BMP"), three_sizes()):
        spec = {
            "format": "png",
            "watermark": {"image": mark, "opacity": 1, "size": 0.2, "margin": 0},
        }
        out = decoded(render(base, spec).data)
        assert out.getpoint(90, 90)[:3] == list(BLUE)  # the mark, in the south-east corner
        assert out.getpoint(50, 50)[:3] == list(RED)


def test_a_watermark_that_fails_to_decode_is_named_as_the_watermark() -> None:
    cut = encode(quadrants(W, H), "BMP")[:-200]  # header intact, pixels cut short
    with pytest.raises(errors.CorruptImage, match=r"^Watermark image: The BMP image cannot"):
        render(png(100, 100, RED), {"format": "png", "watermark": {"image": cut}})
    cut_jpeg = encode(quadrants(320, 240), "JPEG")[:-200]
    with pytest.raises(errors.CorruptImage, match=r"^Watermark image: The JPEG image cannot"):
        render(png(100, 100, RED), {"format": "png", "watermark": {"image": cut_jpeg}})


def test_an_icon_listing_thousands_of_images_is_refused_before_reading_them() -> None:
    body = png(16, 16, RED)
    many = _icon([(16, 16, body)] * 5000)  # every entry points at one PNG
    with pytest.raises(errors.CorruptImage, match="lists 5000 images"):
        probe(many)
