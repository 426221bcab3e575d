"""Ops fed by the analyzers' outputs: hiding face boxes, and a mask turned into alpha.

The imaging core never runs a model (`darkroom.analysis` sits above it): the caller passes
what the analyzers found, in the upright original's pixels, and these functions place it
in a resized frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyvips

from darkroom.imaging.colors import RGBA
from darkroom.imaging.geometry import Box, clip_box, scale_box
from darkroom.imaging.spec import Crop, RedactMode

PADDING = 0.2
"""Each face box grows by this fraction of its size on every side: hair, ears and chin."""
BLUR_SIGMA = 0.15
"""Blur sigma as a fraction of the padded box's longer side: nothing of a face survives it."""
PIXEL_BLOCKS = 8
"""Blocks across the padded box's longer side when pixelating."""
BLACK = RGBA(0, 0, 0)


def redact(
    image: pyvips.Image,
    boxes: Sequence[Box],
    source: tuple[int, int],
    mode: RedactMode,
    fill: RGBA | None = None,
) -> pyvips.Image:
    """Hide each box (in `source` pixels) of a frame that is the whole source resized.

    `image` is 8-bit sRGB, 3 bands or 4 with alpha; the result has the same bands.
    """
    frame = (int(image.width), int(image.height))
    for box in boxes:
        region = clip_box(scale_box(box, source, frame, PADDING), frame)
        if region is None:
            continue
        left, top, width, height = region
        part = image.crop(left, top, width, height)
        if mode is RedactMode.BLUR:
            hidden = _blur(part)
        elif mode is RedactMode.PIXELATE:
            hidden = _pixelate(part)
        else:
            hidden = _fill(part, fill or BLACK)
        image = image.insert(hidden, left, top)
    return image


def _blur(part: pyvips.Image) -> pyvips.Image:
    sigma = max(2.0, BLUR_SIGMA * max(int(part.width), int(part.height)))
    if not part.hasalpha():
        return part.gaussblur(sigma).cast("uchar")
    return part.premultiply().gaussblur(sigma).unpremultiply().cast("uchar")


def _pixelate(part: pyvips.Image) -> pyvips.Image:
    width, height = int(part.width), int(part.height)
    block = max(1, math.ceil(max(width, height) / PIXEL_BLOCKS))
    across, down = math.ceil(width / block), math.ceil(height / block)
    # Each block the mean of its pixels (premultiplied: transparent pixels add no colour).
    premultiplied = part.hasalpha()
    source = part.premultiply() if premultiplied else part
    small = source.thumbnail_image(across, height=down, size="force")
    if premultiplied:
        small = small.unpremultiply()
    blocks = small.cast("uchar").zoom(block, block)
    return blocks.crop(0, 0, width, height)


def _fill(part: pyvips.Image, colour: RGBA) -> pyvips.Image:
    # Solid and opaque whatever the colour's alpha: a see-through fill would hide nothing.
    ink = list(colour[:3]) + ([255] if part.hasalpha() else [])
    return (part.new_from_image(ink)).cast("uchar")


def mask_region(mask: pyvips.Image, upright: tuple[int, int], crop: Crop | None) -> pyvips.Image:
    """The part of `mask` (of the upright original, at any size) that covers the source.

    The mask's pixels are whole: the region may reach a fraction of a mask pixel past the
    crop, a blur of well under one output pixel when the mask is finer than the output.
    """
    if mask.bands != 1:
        raise ValueError(f"a background mask has 1 band, not {mask.bands}")
    if mask.format != "uchar":
        mask = mask.cast("uchar")
    if crop is None:
        return mask
    sx, sy = mask.width / upright[0], mask.height / upright[1]
    left, top = math.floor(crop.left * sx), math.floor(crop.top * sy)
    right = min(mask.width, max(left + 1, math.ceil((crop.left + crop.width) * sx)))
    bottom = min(mask.height, max(top + 1, math.ceil((crop.top + crop.height) * sy)))
    left, top = min(left, right - 1), min(top, bottom - 1)
    return mask.crop(left, top, right - left, bottom - top)


def cut_out(image: pyvips.Image, region: pyvips.Image) -> pyvips.Image:
    """`image` (a frame that is the whole source resized) with `region` as (extra) alpha."""
    alpha = region.thumbnail_image(image.width, height=image.height, size="force")
    alpha = alpha.copy(interpretation="b-w").cast("uchar")
    if not image.hasalpha():
        return image.bandjoin(alpha)
    combined = (image[image.bands - 1] * alpha / 255).cast("uchar")
    return image.extract_band(0, n=image.bands - 1).bandjoin(combined)
