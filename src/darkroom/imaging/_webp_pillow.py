"""Lossy WebP through Pillow's libwebp: the same bytes as libvips' `webpsave`, in less time.

Both hand libwebp the same RGB(A) pixels with the same settings (quality, method = effort,
alpha quality 100, no metadata), so the files are identical, bit for bit; Pillow's path
around the library is shorter: an 800 px photo encodes in 0.86-0.89 of libvips' CPU
(docs/benchmarks.md, TurboJPEG decodes, Pillow's libwebp encodes). Like libvips, Pillow
lets go of the GIL while libwebp works.

What libvips does differently stays with libvips: metadata kept (EXIF, XMP, ICC chunks),
lossless and animated WebP, and outputs over `MAX_PIXELS`, because libvips stops an encode
when a render's budget runs out and Pillow cannot: at this size a lossy encode takes well
under a second.
"""

from __future__ import annotations

import io

import pyvips
from PIL import Image, features

MAX_PIXELS = 4_000_000
_MODES = {3: "RGB", 4: "RGBA"}
_AVAILABLE = bool(features.check("webp"))


def encodable(image: pyvips.Image) -> bool:
    """Whether `image` (a still frame to encode without metadata) is Pillow's to encode."""
    return (
        _AVAILABLE
        and image.format == "uchar"
        and image.bands in _MODES
        and image.interpretation == "srgb"
        and image.width * image.height <= MAX_PIXELS
    )


def encode(image: pyvips.Image, quality: int, effort: int) -> bytes:
    """`image` as a lossy WebP; computing its pixels is libvips' work, stoppable as ever."""
    mode = _MODES[image.bands]
    size = (image.width, image.height)
    picture = Image.frombuffer(mode, size, image.write_to_memory(), "raw", mode, 0, 1)
    out = io.BytesIO()
    picture.save(out, "WEBP", quality=quality, method=effort)
    return out.getvalue()
