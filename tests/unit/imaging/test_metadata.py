"""Metadata that is not UTF-8 (PNG text, HEIF item types) never stops an image."""

from __future__ import annotations

import logging
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import pyvips

from darkroom.imaging import ImageFormat, probe, render, verify
from darkroom.imaging import _vips as vips_setup
from darkroom.imaging._foreign import Decoder
from tests.corpus import read
from tests.unit.imaging.inputs import png, vips_solid, with_item_type

CAFE = "café".encode("latin-1")  # b"caf\xe9": not UTF-8

LATIN1_CHUNKS = {
    "tEXt keyword and value": [(b"tEXt", CAFE + b"\x00" + CAFE + b" cr\xe8me")],
    "zTXt keyword and value": [(b"zTXt", CAFE + b"\x00\x00" + zlib.compress(CAFE))],
    "iTXt with bytes that are not UTF-8": [
        (b"iTXt", CAFE + b"\x00\x00\x00en\x00" + CAFE + b"\x00" + CAFE)
    ],
    "several": [(b"tEXt", CAFE + b"\x00x"), (b"tEXt", b"Title\x00" + CAFE)],
}


@pytest.mark.parametrize("chunks", LATIN1_CHUNKS.values(), ids=LATIN1_CHUNKS.keys())
def test_png_with_latin1_text_probes_verifies_and_renders(
    chunks: list[tuple[bytes, bytes]],
) -> None:
    data = png(16, 16, (200, 100, 50), chunks)
    # The failure this guards against: libvips names fields after the keyword.
    header = pyvips.Image.new_from_buffer(data, "")
    with pytest.raises(UnicodeDecodeError):
        header.get_fields()

    info = probe(data)
    assert (info.format, info.width, info.height, info.bands) == (ImageFormat.PNG, 16, 16, 3)
    assert verify(data) == info
    for strip in (True, False):  # keeping metadata copies the odd fields to the output
        result = render(data, {"width": 8, "format": "png", "strip": strip})
        decoded = pyvips.Image.new_from_buffer(result.data, "")
        assert (decoded.width, decoded.height) == (8, 8)
        assert decoded.getpoint(4, 4) == [200, 100, 50]


def test_text_fields_are_decoded_with_replacement() -> None:
    image = vips_solid(2, 2, (0, 0, 0)).copy()
    image.set_type(pyvips.GValue.gstr_type, "darkroom-test", "ok")
    assert vips_setup.text_field(image, "darkroom-test") == "ok"
    assert vips_setup.text_field(image, "no-such-field") == ""
    assert vips_setup.text_field(image, "width") == ""  # an int, not text
    header = pyvips.Image.new_from_buffer(png(4, 4, (1, 2, 3), LATIN1_CHUNKS["several"]), "")
    assert vips_setup.text_field(header, "png-comment-1-Title") == "caf\ufffd"


def avif_with_exif() -> bytes:
    image = vips_solid(32, 24, (200, 100, 50)).copy()
    image.set_type(pyvips.GValue.blob_type, "exif-data", exif_with_description())
    data = bytes(image.heifsave_buffer(compression="av1", keep="exif", Q=90))
    assert b"Exif\x00" in data
    return data


def exif_with_description() -> bytes:
    entry = b"\x01\x0e\x00\x02\x00\x00\x00\x05\x00\x00\x00\x1a"  # ImageDescription at 26
    return b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01" + entry + b"\x00" * 4 + CAFE + b"\x00"


def test_avif_whose_metadata_item_type_is_not_utf8_renders() -> None:
    # libheif hands libvips the item type, which names the field "heif-<type>-<n>".
    data = with_item_type(avif_with_exif(), b"Exif", b"Ex\xe9f")
    with pytest.raises(UnicodeDecodeError):
        pyvips.Image.new_from_buffer(data, "").get_fields()
    info = probe(data)
    assert (info.format, info.decoder, info.width, info.height) == (
        ImageFormat.AVIF,
        Decoder.LIBVIPS,
        32,
        24,
    )
    verify(data)
    out = pyvips.Image.new_from_buffer(render(data, {"format": "png"}).data, "")
    assert out.getpoint(16, 12) == pytest.approx([200, 100, 50], abs=4)


HEIC_METADATA: dict[str, Callable[[bytes], bytes]] = {
    "item type": lambda data: with_item_type(data, b"Exif", b"Ex\xe9f"),
    "content type": lambda data: data.replace(b"application/rdf+xml", b"application/rdf+xm\xe9"),
    "both": lambda data: with_item_type(data, b"Exif", b"\xe9\xe9\xe9\xe9").replace(
        b"application/rdf+xml", b"\xe9" * 19
    ),
}

_HEIC_CHILD = """
import sys
from darkroom.imaging import probe, render, verify
data = open(sys.argv[1], "rb").read()
info = probe(data)
verify(data)
result = render(data, {"width": 32, "format": "png"})
print(info.decoder.value, info.width, info.height, result.width, result.height)
"""


@pytest.mark.parametrize("patch", HEIC_METADATA.values(), ids=HEIC_METADATA.keys())
def test_hevc_heic_whose_metadata_strings_are_not_utf8_renders(
    patch: Callable[[bytes], bytes], tmp_path: Path
) -> None:
    original = read("heic-hevc-quadrants-64x48.heic")  # has an EXIF and an XMP item
    data = patch(original)
    assert data != original
    path = tmp_path / "odd.heic"
    path.write_bytes(data)
    # pi-heif dereferences NULL on such strings and kills the process: run in a child so a
    # regression fails this test instead of the test worker.
    run = subprocess.run(
        [sys.executable, "-c", _HEIC_CHILD, str(path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["pi-heif", "64", "48", "32", "24"]


def test_libvips_warnings_with_bad_bytes_reach_logging(caplog: pytest.LogCaptureFixture) -> None:
    # Called through its C function pointer, as GLib calls it from a libvips thread.
    warning = pyvips.GLogLevelFlags.LEVEL_WARNING
    with caplog.at_level(logging.WARNING, logger="pyvips"):
        vips_setup._log_callback(b"VIPS", warning, CAFE, pyvips.ffi.NULL)
        vips_setup._log_callback(b"VIPS", warning, b"  ", pyvips.ffi.NULL)  # dropped
    assert [record.getMessage() for record in caplog.records] == ["VIPS: caf\ufffd"]
