"""The per-frame steps of a render, in order, each a small function over a pyvips image.

Steps run after the shrink-on-load resize; for an animation each runs once per frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyvips

from darkroom.imaging import edges
from darkroom.imaging import redact as redaction
from darkroom.imaging.colors import RGBA
from darkroom.imaging.geometry import (
    SMART_CROPS,
    Box,
    Plan,
    face_window,
    focus_window,
    gravity_offset,
)
from darkroom.imaging.spec import Fit, Gravity, TransformSpec
from darkroom.imaging.watermark import Watermarker


@dataclass(frozen=True, slots=True)
class Context:
    """What every step may consult."""

    spec: TransformSpec
    plan: Plan
    keep_alpha: bool
    """Whether the output format can carry alpha."""
    flatten_to: RGBA | None
    """Background to flatten alpha onto, when alpha must go."""
    canvas: RGBA
    """Colour of the padding added by fit=pad."""
    watermarker: Watermarker | None
    faces: tuple[Box, ...] = ()
    """Face boxes in the source's pixels (the upright original after the user's crop)."""
    mask: pyvips.Image | None = None
    """remove_background: the background mask's part covering the source, at any size."""


Step = Callable[[pyvips.Image, Context], pyvips.Image]


def to_srgb8(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Guarantee 8-bit sRGB (3 bands, or 4 with alpha) whatever the decoder produced."""
    if image.interpretation != "srgb":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def cut_out_background(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """remove_background: the mask becomes the frame's alpha (times any alpha it had)."""
    if ctx.mask is None:
        return image
    return redaction.cut_out(image, ctx.mask)


def cut_to_box(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Hide the faces (redact), then cut fit=cover's overflow down to the box, by gravity.

    Both work on the whole resized source, so the crop, rotation and mirroring that follow
    carry them. The cut is chosen before the faces are hidden: it does not depend on them.
    """
    hiding = ctx.spec.redact is not None and bool(ctx.faces)
    box = ctx.plan.box if ctx.spec.fit is Fit.COVER else None
    if box is not None:
        box = (min(box[0], image.width), min(box[1], image.height))
        if box == (image.width, image.height):
            box = None
    smart = box is not None and ctx.plan.gravity in SMART_CROPS
    if hiding or smart:
        # Both read the frame twice, which a sequential decode cannot: it goes to memory.
        image = image.copy_memory()
    window = None if box is None else _window(image, ctx, box)
    if hiding:
        assert ctx.spec.redact is not None
        image = redaction.redact(
            image, ctx.faces, ctx.plan.source, ctx.spec.redact.faces, ctx.spec.background
        )
    if window is None or box is None:
        return image
    return image.crop(*window, *box)


def _window(image: pyvips.Image, ctx: Context, box: tuple[int, int]) -> tuple[int, int]:
    frame = (int(image.width), int(image.height))
    if ctx.spec.focus is not None:
        return focus_window((ctx.spec.focus.x, ctx.spec.focus.y), frame, box)
    gravity = ctx.plan.gravity
    if gravity in SMART_CROPS:
        # Only when the decoder had to keep the whole frame (see `plan`). libvips tells
        # where its cut lies by the (negated) offsets of the result.
        cut = image.smartcrop(*box, interesting=SMART_CROPS[gravity])
        return -int(cut.xoffset), -int(cut.yoffset)
    if gravity is Gravity.FACE:
        window = face_window(ctx.faces, ctx.plan.source, frame, box)
        if window is not None:
            return window
    return gravity_offset(gravity, frame, box)


def flatten(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Blend alpha onto the background when the output cannot keep it (premultiplied: no halos)."""
    if ctx.flatten_to is None or not image.hasalpha():
        return image
    return image.flatten(background=list(ctx.flatten_to[:3])).cast("uchar")


def extend_to_box(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """fit=pad: place the contained image on a canvas of exactly the requested size."""
    box = ctx.plan.box
    if box is None or ctx.spec.fit is not Fit.PAD or box == (image.width, image.height):
        return image
    if not image.hasalpha() and ctx.keep_alpha and not ctx.canvas.opaque:
        image = image.bandjoin_const([255])
    background = list(ctx.canvas) if image.hasalpha() else list(ctx.canvas[:3])
    x, y = gravity_offset(ctx.plan.gravity, box, (image.width, image.height))
    return image.embed(x, y, box[0], box[1], extend="background", background=background)


def rotate(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Turn clockwise by the spec's quarter turns."""
    turns = {90: "d90", 180: "d180", 270: "d270"}
    angle = turns.get(ctx.spec.rotate)
    return image if angle is None else image.rot(angle)


def mirror(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """flip mirrors top to bottom, flop left to right."""
    if ctx.spec.flip:
        image = image.flipver()
    if ctx.spec.flop:
        image = image.fliphor()
    return image


def blur(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Gaussian blur, premultiplied when there is alpha so that edges do not darken."""
    sigma = ctx.spec.blur
    if sigma is None:
        return image
    sigma *= ctx.spec.dpr
    if not image.hasalpha():
        return image.gaussblur(sigma)
    return image.premultiply().gaussblur(sigma).unpremultiply().cast("uchar")


def sharpen(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Unsharp mask in a perceptual space (libvips `sharpen`)."""
    sigma = ctx.spec.sharpen
    if sigma is None:
        return image
    if ctx.spec.sharpen_amount is None:
        return image.sharpen(sigma=sigma * ctx.spec.dpr)
    return image.sharpen(sigma=sigma * ctx.spec.dpr, m2=ctx.spec.sharpen_amount)


def grayscale(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Shades of grey, kept as three equal sRGB bands for the steps and encoders after it."""
    if not ctx.spec.grayscale:
        return image
    return image.colourspace("b-w").colourspace("srgb")


def round_corners(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Cut the corners on an ellipse, leaving them transparent or in a colour."""
    corners = ctx.spec.corners
    if corners is None:
        return image
    rx = round(corners.radius * ctx.spec.dpr)
    ry = round((corners.radius_y or corners.radius) * ctx.spec.dpr)
    colour = corners.color
    if colour is None and not ctx.keep_alpha:
        colour = ctx.canvas
    return edges.round_corners(image, (rx, ry), colour, ctx.keep_alpha)


def pad(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Add the spec's padding around the result, in the canvas colour."""
    padding = ctx.spec.padding
    if padding is None:
        return image
    sides = (padding.top, padding.right, padding.bottom, padding.left)
    scaled = (round(side * ctx.spec.dpr) for side in sides)
    top, right, bottom, left = scaled
    if not image.hasalpha() and ctx.keep_alpha and not ctx.canvas.opaque:
        image = image.bandjoin_const([255])
    return edges.pad(image, (top, right, bottom, left), ctx.canvas)


def watermark(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Composite the watermark, if any."""
    if ctx.watermarker is None:
        return image
    return ctx.watermarker.apply(image)


FRAME_STEPS: tuple[Step, ...] = (
    to_srgb8,
    cut_out_background,
    cut_to_box,
    flatten,
    extend_to_box,
    rotate,
    mirror,
    blur,
    sharpen,
    grayscale,
    round_corners,
    pad,
    watermark,
    to_srgb8,
)


def run_steps(image: pyvips.Image, ctx: Context) -> pyvips.Image:
    """Apply every frame step in order."""
    for step in FRAME_STEPS:
        image = step(image, ctx)
    return image
