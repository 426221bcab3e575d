"""The steps that work on the result's edges: rounded corners and padding."""

from __future__ import annotations

import pyvips

from darkroom.imaging.colors import RGBA


def round_corners(
    image: pyvips.Image,
    radius: tuple[int, int],
    colour: RGBA | None,
    keep_alpha: bool,
) -> pyvips.Image:
    """`image` with its corners cut on an ellipse of `radius` (x, y) device pixels.

    Outside the curve the image becomes `colour`, or transparent when `colour` is None
    and the output keeps alpha.
    """
    width, height = int(image.width), int(image.height)
    rx, ry = min(radius[0], width // 2), min(radius[1], height // 2)
    if rx < 1 or ry < 1:
        return image
    mask = _rounded_mask(width, height, rx, ry)
    if colour is None and keep_alpha:
        if not image.hasalpha():
            return image.bandjoin(mask)
        alpha = (image[image.bands - 1] * (mask / 255.0)).cast("uchar")
        return image.extract_band(0, n=image.bands - 1).bandjoin(alpha)
    fill = colour or RGBA(255, 255, 255)
    bands = int(image.bands)
    ground = image.new_from_image(list(fill) if bands == 4 else list(fill[:3]))
    return mask.ifthenelse(image, ground, blend=True).cast("uchar")


def _rounded_mask(width: int, height: int, rx: int, ry: int) -> pyvips.Image:
    """A 1-band uchar mask, 255 inside a rectangle with elliptical corners, anti-aliased.

    Computed from pixel coordinates (the SVG loader is blocked as untrusted input).
    """
    xy = pyvips.Image.xyz(width, height).cast("float") + 0.5
    x, y = xy[0], xy[1]
    # Distance into each corner's box, 0 along the straight edges and inside.
    dx = ((rx - x).maxpair(x - (width - rx))).maxpair(0) / rx
    dy = ((ry - y).maxpair(y - (height - ry))).maxpair(0) / ry
    radius = (dx * dx + dy * dy) ** 0.5
    # About one pixel of ramp across the curve smooths the edge.
    inside = (1 - radius) * min(rx, ry) + 0.5
    return (inside.maxpair(0).minpair(1) * 255).cast("uchar")


def pad(image: pyvips.Image, sides: tuple[int, int, int, int], canvas: RGBA) -> pyvips.Image:
    """`image` on a larger canvas: `sides` are (top, right, bottom, left) device pixels."""
    top, right, bottom, left = sides
    if not any(sides):
        return image
    background = list(canvas) if image.hasalpha() else list(canvas[:3])
    return image.embed(
        left,
        top,
        image.width + left + right,
        image.height + top + bottom,
        extend="background",
        background=background,
    )
