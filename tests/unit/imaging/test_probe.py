"""Probe: sniffed format, header geometry, limits, and bombs refused without decoding."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import pyvips

from darkroom import errors
from darkroom.imaging import ImageFormat, Limits, _heif, probe, render, verify
from darkroom.imaging._foreign import Decoder
from darkroom.imaging.formats import TRAITS, sniff
from darkroom.imaging.limits import DEFAULT_INPUT_FORMATS
from tests.corpus import Entry, ok_entries, read, rejected_entries
from tests.unit.imaging.inputs import bmp, cursor, encode, quadrants

FORMAT_OF_CATEGORY = {"gif": ImageFormat.GIF, "webp": ImageFormat.WEBP, "avif": ImageFormat.AVIF}


@pytest.mark.parametrize("entry", ok_entries(), ids=lambda e: e.file)
def test_probe_reads_header_geometry(entry: Entry) -> None:
    info = probe(entry.read())
    assert (info.width, info.height) == (entry.width, entry.height)
    assert info.frames == entry.pages
    assert info.orientation == entry.orientation
    if entry.category in FORMAT_OF_CATEGORY:
        assert info.format is FORMAT_OF_CATEGORY[entry.category]
    assert info.upright_size() == entry.upright


@pytest.mark.parametrize("entry", rejected_entries(), ids=lambda e: e.file)
def test_rejected_files_fail_at_probe_or_decode(entry: Entry) -> None:
    if entry.rejection is errors.CorruptImage and "truncated" in entry.expected:
        probe(entry.read())  # a truncated body has an intact header: decoding refuses it
        return
    with pytest.raises(entry.rejection):
        probe(entry.read())


@pytest.mark.parametrize("entry", rejected_entries(), ids=lambda e: e.file)
def test_verify_refuses_every_rejected_file(entry: Entry) -> None:
    with pytest.raises(entry.rejection):
        verify(entry.read())


@pytest.mark.parametrize("entry", ok_entries(), ids=lambda e: e.file)
def test_verify_accepts_every_ok_file(entry: Entry) -> None:
    assert verify(entry.read()) == probe(entry.read())


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("jpeg-progressive.jpg", ImageFormat.JPEG),
        ("png-rgba-transparency.png", ImageFormat.PNG),
        ("gif-static.gif", ImageFormat.GIF),
        ("webp-lossy.webp", ImageFormat.WEBP),
        ("avif-rgba-transparency.avif", ImageFormat.AVIF),
        ("heic-hevc-256x256.heic", ImageFormat.HEIF),
        ("tiff-rgb-lzw.tif", ImageFormat.TIFF),
        ("svg-simple.svg", ImageFormat.SVG),
        ("svg-with-script.svg", ImageFormat.SVG),
        ("broken-not-an-image-ole-doc.jpg", None),
        ("broken-one-byte.jpg", None),
    ],
)
def test_sniff_uses_bytes_not_names(name: str, fmt: ImageFormat | None) -> None:
    assert sniff(read(name)) is fmt


def test_sniff_new_formats() -> None:
    image = quadrants(8, 8)
    assert sniff(encode(image, "BMP")) is ImageFormat.BMP
    assert sniff(encode(image, "ICO", sizes=[(8, 8)])) is ImageFormat.ICO
    assert (
        sniff(cursor(encode(image, "ICO", sizes=[(8, 8)], bitmap_format="bmp"))) is ImageFormat.CUR
    )
    assert sniff(b"II+\x00\x08\x00\x00\x00" + b"\x00" * 8) is ImageFormat.TIFF
    assert sniff(b"MM\x00+\x00\x08\x00\x00" + b"\x00" * 8) is ImageFormat.TIFF
    jpeg = encode(image, "JPEG")
    assert sniff(jpeg[:2] + b"\x00\x00" + jpeg[2:]) is ImageFormat.JPEG  # junk after SOI
    assert sniff(b"BM" + b"\x00" * 60) is None  # "BM" alone is not enough
    assert sniff(b"\x00\x00\x01\x00\x00\x00" + b"\x00" * 20) is None  # an icon of no images


def test_read_only_inputs_are_accepted_by_default_and_never_written() -> None:
    for fmt, mime, extension in (
        (ImageFormat.BMP, "image/bmp", "bmp"),
        (ImageFormat.ICO, "image/vnd.microsoft.icon", "ico"),
        (ImageFormat.CUR, "image/x-win-bitmap", "cur"),
        (ImageFormat.HEIF, "image/heif", "heic"),
    ):
        assert fmt in DEFAULT_INPUT_FORMATS
        assert (TRAITS[fmt].mime_type, TRAITS[fmt].extension) == (mime, extension)
        assert not TRAITS[fmt].writable
    mimes = [traits.mime_type for traits in TRAITS.values()]
    assert len(set(mimes)) == len(mimes)  # the service maps media types back to formats
    no_bmp = Limits(input_formats=DEFAULT_INPUT_FORMATS - {ImageFormat.BMP})
    with pytest.raises(errors.UnsupportedFormat, match="BMP input is disabled"):
        probe(encode(quadrants(8, 8), "BMP"), no_bmp)


def test_sniff_pdf_and_text() -> None:
    assert sniff(b"%PDF-1.7\n...") is ImageFormat.PDF
    assert sniff(b"hello world") is None
    assert sniff(b"<?xml version='1.0'?><note/>") is None


def test_pdf_is_refused_as_unsupported() -> None:
    with pytest.raises(errors.UnsupportedFormat, match="PDF input is disabled"):
        probe(b"%PDF-1.4\n1 0 obj<<>>endobj\n")


def test_byte_limit() -> None:
    data = read("jpeg-progressive.jpg")
    with pytest.raises(errors.ImageTooLarge) as caught:
        probe(data, Limits(max_bytes=len(data) - 1))
    assert caught.value.status_code == 413
    assert f"{len(data):,} bytes" in caught.value.message
    assert probe(data, Limits(max_bytes=len(data))).width == 1200


def test_pixel_limit_is_per_frame() -> None:
    data = read("jpeg-progressive.jpg")  # 1200x799 = 958,800 px
    with pytest.raises(errors.TooManyPixels, match="1200x799"):
        probe(data, Limits(max_pixels=958_799))
    assert probe(data, Limits(max_pixels=958_800)).height == 799


def test_frame_limits() -> None:
    data = read("gif-animated-earth-44frames.gif")
    with pytest.raises(errors.TooManyFrames, match="44 frames"):
        probe(data, Limits(max_frames=43))
    with pytest.raises(errors.TooManyPixels, match="over 44 frames"):
        probe(data, Limits(max_animation_pixels=400 * 400 * 44 - 1))
    assert probe(data, Limits(max_frames=44)).frames == 44


def test_svg_only_when_enabled() -> None:
    data = read("svg-simple.svg")
    with pytest.raises(errors.UnsupportedFormat, match="SVG input is disabled"):
        render(data, {"format": "png"})
    enabled = Limits(input_formats=Limits().input_formats | {ImageFormat.SVG})
    result = render(data, {"format": "png"}, limits=enabled)
    assert (result.width, result.height) == (100, 100)


def test_heif_hevc_without_the_heif_extra_is_refused_with_advice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_heif, "pi_heif", None)
    for call in (probe, verify, lambda data: render(data, {"width": 10})):
        with pytest.raises(errors.UnsupportedFormat, match="HEVC") as caught:
            call(read("heic-hevc-256x256.heic"))
        assert caught.value.status_code == 415
        assert "pip install 'darkroom-images[heif]'" in caught.value.message


def test_heif_hevc_is_decoded_through_pi_heif() -> None:
    info = probe(read("heic-hevc-256x256.heic"))
    assert (info.format, info.decoder, info.width, info.height) == (
        ImageFormat.HEIF,
        Decoder.PI_HEIF,
        256,
        256,
    )


def test_corrupt_header_message_is_short_and_typed() -> None:
    with pytest.raises(errors.CorruptImage) as caught:
        probe(read("broken-corrupt-header.jpg"))
    assert caught.value.message.startswith("The JPEG header cannot be read")
    assert len(caught.value.message) < 400


# --- generated decompression bombs -----------------------------------------------------

BOMB_SIDE = 30000


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb() -> bytes:
    """A valid-looking PNG declaring 30000x30000 RGB with a few bytes of pixel data."""
    header = struct.pack(">IIBBBBB", BOMB_SIDE, BOMB_SIDE, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (BOMB_SIDE * 3 + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bomb() -> bytes:
    """A real 16x16 JPEG whose frame header is patched to declare 30000x30000."""
    data = bytearray(pyvips.Image.black(16, 16).jpegsave_buffer())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, BOMB_SIDE, BOMB_SIDE)
    return bytes(data)


def gif_bomb() -> bytes:
    """A real 16x16 GIF whose screen and frame are patched to declare 30000x30000."""
    data = bytearray((pyvips.Image.black(16, 16) + 100).cast("uchar").gifsave_buffer())
    struct.pack_into("<HH", data, 6, BOMB_SIDE, BOMB_SIDE)
    frame = data.index(b"\x2c\x00\x00\x00\x00")
    struct.pack_into("<HH", data, frame + 5, BOMB_SIDE, BOMB_SIDE)
    return bytes(data)


def bmp_bomb() -> bytes:
    """A BMP header declaring 30000x30000 24-bit pixels, followed by 64 bytes of them."""
    return bmp(BOMB_SIDE, BOMB_SIDE, 24, b"\x00" * 64)


def ico_bomb() -> bytes:
    """An icon whose directory says 16x16 but whose embedded PNG declares 30000x30000."""
    embedded = png_bomb()
    directory = struct.pack("<HHHBBBBHHII", 0, 1, 1, 16, 16, 0, 0, 1, 32, len(embedded), 22)
    return directory + embedded


BOMBS = {"png": png_bomb, "jpeg": jpeg_bomb, "gif": gif_bomb, "bmp": bmp_bomb, "ico": ico_bomb}

_MEASURE = """
import json, resource, sys
from darkroom import errors
from darkroom.imaging import probe, render
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outcomes = []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    for call in (lambda: probe(data), lambda: render(data, {"width": 100})):
        try:
            call()
            outcomes.append("accepted")
        except errors.DarkroomError as exc:
            outcomes.append(type(exc).__name__)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcomes": outcomes, "grown_kib": after - before}))
"""


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_generated_bomb_declares_its_size(kind: str) -> None:
    unlimited = Limits(max_pixels=BOMB_SIDE**2, max_animation_pixels=BOMB_SIDE**2)
    info = probe(BOMBS[kind](), unlimited)
    assert (info.width, info.height) == (BOMB_SIDE, BOMB_SIDE)


def test_bombs_are_refused_without_allocating_pixels(tmp_path: Path) -> None:
    paths = []
    for kind, make in BOMBS.items():
        path = tmp_path / f"bomb.{kind}"
        path.write_bytes(make())
        paths.append(str(path))
    for name in ("bomb-png-65536x65536.png", "bomb-jpeg-20000x14000.jpg"):
        path = tmp_path / name
        path.write_bytes(read(name))
        paths.append(str(path))
    # A fresh interpreter: its peak RSS reflects only what probing the bombs allocated.
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, *paths], capture_output=True, text=True, check=True
    )
    report = json.loads(run.stdout)
    assert report["outcomes"] == ["TooManyPixels"] * (2 * len(paths))
    # Decoding any of them would need at least 900 MB; a header read needs next to nothing.
    assert report["grown_kib"] < 40 * 1024
