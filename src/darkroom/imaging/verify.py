"""Full validation of an upload: the probe's checks plus a decode of every pixel."""

from __future__ import annotations

import pyvips

from darkroom.errors import CorruptImage
from darkroom.imaging._vips import LOAD_OPTIONS, libvips_errors
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.probe import ImageInfo, probe

VERIFY_SIZE = 64
"""Decoding to a thumbnail reads all the data (shrink-on-load still walks every JPEG block)."""


def verify(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ImageInfo:
    """Probe `data`, then decode it all at small scale so truncation is caught up front.

    A header can be intact while the body is cut short; accepting such a file would only
    defer the failure to every variant. Animations are checked frame by frame.
    """
    info = probe(data, limits)
    options = LOAD_OPTIONS + (",n=-1" if info.animated else "")
    with libvips_errors(CorruptImage, f"The {info.format.name} image cannot be decoded"):
        thumbnail = pyvips.Image.thumbnail_buffer(
            data, VERIFY_SIZE, height=VERIFY_SIZE, no_rotate=True, option_string=options
        )
        thumbnail.avg()
    return info
