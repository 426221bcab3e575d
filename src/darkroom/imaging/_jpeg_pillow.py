"""Scaled JPEG decoding through Pillow's libjpeg-turbo, for originals verified before.

Pillow's decoder and libvips' `jpegload` both run libjpeg-turbo with the same settings
(integer IDCT, fancy upsampling), so at the same scale they produce the same pixels, bit
for bit; Pillow's path around the library is shorter: a 3000x2000 photo decodes at 1/2 in
about two thirds of libvips' time (docs/benchmarks.md, scaled JPEG decoding).

What Pillow cannot do is fail on libjpeg's warnings: damaged entropy-coded data decodes to
grey or garbled blocks without a word. So this decoder serves only bytes libvips already
decoded cleanly with `fail_on=warning` (a stored original, verified when it was
uploaded); anything else, and anything Pillow refuses, goes through libvips. The result
carries every metadata field libvips' own load would (EXIF, orientation, ICC, XMP,
resolution), read from libvips' header parse, so the render that follows is the same.
"""

from __future__ import annotations

import io

import pyvips
from PIL import Image, JpegImagePlugin

from darkroom.imaging._jpeg import frame_marker
from darkroom.imaging._vips import LOAD_OPTIONS

MAX_DECODED_BYTES = 64 * 1024**2
"""Pillow decodes a frame whole, not in strips as libvips streams it: beyond this the
memory matters more than the time saved, and libvips decodes."""

_MODES = {1: ("L", "b-w"), 3: ("RGB", "srgb")}
_DCT_FRAMES = {0xC0, 0xC1, 0xC2}
"""Baseline, extended and progressive Huffman-coded DCT: what both decoders scale alike.
Pillow crashed the process on a scaled lossless (0xC3) JPEG."""
_GEOMETRY = ("xres", "yres", "xoffset", "yoffset")
_OWN_FIELDS = {"width", "height", "bands", "format", "coding", "interpretation", *_GEOMETRY}
"""Set by the pixels or by `copy`; every other field of the header is copied as it is."""


def decode_scaled(source: bytes, shrink: int) -> pyvips.Image | None:
    """`source` (a grey or colour JPEG that libvips verified) decoded at 1/`shrink`, with
    libvips' metadata; None when it is not Pillow's to decode (libvips decodes then)."""
    if frame_marker(source) not in _DCT_FRAMES:
        return None
    header = pyvips.Image.new_from_buffer(source, LOAD_OPTIONS, shrink=shrink)
    if header.bands not in _MODES or header.format != "uchar":
        return None
    fields = header.get_fields()
    if any(name.startswith("gainmap") for name in fields):
        return None  # an UltraHDR gain map, which libvips' own load resizes with the image
    if header.width * header.height * header.bands > MAX_DECODED_BYTES:
        return None
    mode, interpretation = _MODES[header.bands]
    try:
        picture = JpegImagePlugin.JpegImageFile(io.BytesIO(source))
        width, height = picture.size
        # draft() picks the largest scale whose result covers the size asked for: the
        # floor of each side over `shrink` asks for exactly 1/shrink.
        picture.draft(mode, (max(width // shrink, 1), max(height // shrink, 1)))
        picture.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    # libjpeg rounds a scaled side up, libvips down: at most one more row or column here,
    # decoded from the same blocks, which libvips drops.
    extra = (picture.width - header.width, picture.height - header.height)
    if picture.mode != mode or not all(0 <= side <= 1 for side in extra):
        return None
    image = pyvips.Image.new_from_memory(
        picture.tobytes(), picture.width, picture.height, header.bands, "uchar"
    )
    if extra != (0, 0):
        image = image.crop(0, 0, header.width, header.height)
    geometry = {name: header.get(name) for name in _GEOMETRY}
    image = image.copy(interpretation=interpretation, **geometry)
    for name in fields:
        value = header.get(name) if name not in _OWN_FIELDS else None
        if value is not None:
            image.set_type(header.get_typeof(name), name, value)
    return image
