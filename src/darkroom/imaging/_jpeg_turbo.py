"""Scaled JPEG decoding straight through libjpeg-turbo's TurboJPEG API (`simplejpeg`).

libvips' `jpegload` and TurboJPEG run the same libjpeg-turbo with the same settings
(integer IDCT, fancy upsampling), so at the same scale they produce the same pixels, bit
for bit; TurboJPEG's path around the library is shorter: a 3000x2000 photo decodes at 1/2
in 0.7 of libvips' CPU, whole in 0.6 (docs/benchmarks.md, TurboJPEG decodes). Like libvips
with `fail_on=warning`, it stops on libjpeg's first warning (`strict`), so damaged data
(a scan cut short and closed with an end marker, a bad Huffman code) is never decoded to
grey blocks here: it goes to libvips, which fails on it and says why.

Whatever TurboJPEG would decode differently or not at all goes to libvips as well. The
result carries every metadata field libvips' own load would (EXIF, orientation, ICC, XMP,
resolution), read from libvips' header parse, so the render that follows is the same.
"""

from __future__ import annotations

import math

import pyvips

from darkroom.imaging._jpeg import frame_marker
from darkroom.imaging._vips import LOAD_OPTIONS

MAX_DECODED_BYTES = 64 * 1024**2
"""TurboJPEG decodes a frame whole, not in strips as libvips streams it: beyond this the
memory matters more than the time saved, and libvips decodes."""

_MODES = {1: ("GRAY", "b-w"), 3: ("RGB", "srgb")}
_DCT_FRAMES = {0xC0, 0xC1, 0xC2}
"""Baseline, extended and progressive Huffman-coded DCT: what both decoders scale alike
(a scaled decode of a lossless, 0xC3, JPEG crashed Pillow's libjpeg-turbo)."""
_GEOMETRY = ("xres", "yres", "xoffset", "yoffset")
_OWN_FIELDS = {"width", "height", "bands", "format", "coding", "interpretation", *_GEOMETRY}
"""Set by the pixels or by `copy`; every other field of the header is copied as it is."""


def decode_scaled(source: bytes, shrink: int) -> pyvips.Image | None:
    """`source` (a grey or colour JPEG) decoded at 1/`shrink`, with libvips' metadata; None
    when it is not TurboJPEG's to decode, or TurboJPEG met a warning or an error (libvips
    decodes then, and refuses what is damaged)."""
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
    colorspace, interpretation = _MODES[header.bands]
    import simplejpeg  # here: it imports numpy, which most processes never need

    try:
        # The smallest scale at least 1/shrink of each side, and no larger than 1/shrink:
        # exactly 1/shrink (TurboJPEG also offers 3/8, 5/8 ...). libjpeg rounds a scaled
        # side up, libvips down.
        full_height, full_width, _, _ = simplejpeg.decode_jpeg_header(source, strict=True)
        pixels = simplejpeg.decode_jpeg(
            source,
            colorspace,
            min_width=math.ceil(full_width / shrink),
            min_height=math.ceil(full_height / shrink),
            min_factor=shrink,
            strict=True,
        )
    except ValueError:
        return None
    height, width = pixels.shape[:2]
    # At most one more row or column here, decoded from the same blocks, which libvips drops.
    extra = (width - header.width, height - header.height)
    if not all(0 <= side <= 1 for side in extra):
        return None
    image = pyvips.Image.new_from_memory(pixels.data, width, height, header.bands, "uchar")
    if extra != (0, 0):
        image = image.crop(0, 0, header.width, header.height)
    geometry = {name: header.get(name) for name in _GEOMETRY}
    image = image.copy(interpretation=interpretation, **geometry)
    for name in fields:
        value = header.get(name) if name not in _OWN_FIELDS else None
        if value is not None:
            image.set_type(header.get_typeof(name), name, value)
    return image
