"""HEVC-coded HEIF (iPhone HEIC) through pi-heif: the libheif inside libvips has no HEVC decoder.

pi-heif is the optional extra `heif` (it bundles libheif and libde265, decoders only). The
primary image is decoded; libheif applies the container's rotation and mirroring (irot,
imir), so the EXIF orientation such files also carry is not applied again.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pyvips

from darkroom.errors import UnsupportedFormat
from darkroom.imaging._foreign import MODES, FrameStep, Header, from_pixels
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.refusals import ANY_DECODER_FAILURE, Stage, refusing

try:
    import pi_heif  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - exercised by monkeypatching in tests
    pi_heif = None
else:
    # Thumbnails, depth maps and auxiliary images are never used: do not even list them.
    pi_heif.options.THUMBNAILS = False
    pi_heif.options.DEPTH_IMAGES = False
    pi_heif.options.AUX_IMAGES = False

INSTALL_HINT = "pip install 'darkroom-images[heif]'"


def read_header(data: bytes, fmt: ImageFormat) -> Header:
    """Size, frames, layout and ICC of the primary image, nothing decoded."""
    with refusing(data, fmt, Stage.HEADER, ANY_DECODER_FAILURE):
        container = _open(data, fmt)
        primary = container[container.primary_index]
        width, height = primary.size
        mode = _mode(primary.mode, fmt)
        icc = primary.info.get("icc_profile") or b""
        return Header(width, height, len(container), mode, bytes(icc), "pi-heif")


def decode(data: bytes, fmt: ImageFormat, *, all_frames: bool, step: FrameStep) -> pyvips.Image:
    """Decode the primary image through `step` (HEIF collections are not animations)."""
    with refusing(data, fmt, Stage.DECODE, ANY_DECODER_FAILURE):
        container = _open(data, fmt)
        primary = container[container.primary_index]
        pixels = primary.data
        width, height = primary.size
        mode = _mode(primary.mode, fmt)
        icc = bytes(primary.info.get("icc_profile") or b"")
    image = from_pixels(pixels, width, height, mode, icc)
    if primary.mode.endswith("a"):  # premultiplied alpha
        image = image.unpremultiply().cast("uchar").copy(interpretation="srgb")
    return step(image)


def _open(data: bytes, fmt: ImageFormat) -> Any:
    if pi_heif is None:
        raise UnsupportedFormat(
            f"This {fmt.name} image is coded with HEVC; decoding it needs the optional HEIF "
            f"decoder, which this server does not have ({INSTALL_HINT}).",
            details={"compression": "hevc", "install": INSTALL_HINT},
        )
    return pi_heif.open_heif(io.BytesIO(_ascii_item_strings(data)), convert_hdr_to_8bit=True)


def _mode(mode: str, fmt: ImageFormat) -> str:
    layout = {"RGBa": "RGBA", "La": "LA"}.get(mode, mode)
    if layout not in MODES:
        raise UnsupportedFormat(
            f"This {fmt.name} image has a pixel layout ({mode}) this server cannot decode.",
            details={"format": fmt.value, "mode": mode},
        )
    return layout


# --- item strings ----------------------------------------------------------------------------
# pi-heif turns each metadata item's type and content type into a Python str without
# checking the result: bytes that are not UTF-8 crash the process (NULL dereferenced in
# _pi_heif.c). Those strings live in the 'infe' boxes of meta/iinf; their bytes above 0x7F
# become '?', which keeps every length and offset, before pi-heif sees the file.


def _ascii_item_strings(data: bytes) -> bytes:
    fixed: bytearray | None = None
    for start, end in _item_string_spans(data):
        if max(data[start:end], default=0) < 0x80:
            continue
        if fixed is None:
            fixed = bytearray(data)
        fixed[start:end] = bytes(b if b < 0x80 else 0x3F for b in data[start:end])
    return data if fixed is None else bytes(fixed)


def _item_string_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of the type-and-strings part of every item info entry."""
    for kind, body, end in _boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for kind, iinf, iinf_end in _boxes(data, body + 4, end):
            if kind != b"iinf":
                continue
            count_size = 2 if data[iinf] == 0 else 4
            for kind, infe, infe_end in _boxes(data, iinf + 4 + count_size, iinf_end):
                if kind != b"infe":
                    continue
                version = data[infe]
                # version, flags, item ID (16 bits; 32 from version 3), protection index
                fixed_fields = 4 + (4 if version >= 3 else 2) + 2
                yield infe + fixed_fields, infe_end


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, where its body starts, where it ends) of each ISO-BMFF box in data[start:end]."""
    position = start
    while position + 8 <= end:
        size = int.from_bytes(data[position : position + 4], "big")
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[position + 8 : position + 16], "big"), 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        yield data[position + 4 : position + 8], position + header, position + size
        position += size
