"""One decode for several renders of the same original.

Decoding dominates a render: making three profiles of a 3000x2000 JPEG decodes it three
times. `shared_base` decodes it once, upright and in sRGB, at the smallest size every
render needs (shrink-on-load still applies), and keeps that in memory; `render(...,
base=)` then resizes from it to exactly the dimensions the render would have had from
the bytes (read lazily from libvips, without decoding), so outputs keep their sizes.

Only what a plain decode would give can come from the base: libvips' own decoders, still
output, no user crop, EXIF orientation applied. Anything else renders from the bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyvips

from darkroom.imaging import load
from darkroom.imaging._foreign import Decoder
from darkroom.imaging.geometry import Plan, plan
from darkroom.imaging.limits import Limits
from darkroom.imaging.probe import ImageInfo
from darkroom.imaging.refusals import Stage, refusing
from darkroom.imaging.spec import TransformSpec, needs_background_mask, needs_faces

BASE_MAX_PIXELS = 16_000_000
"""A base is kept in memory while its renders run: 48 MB at this size, RGB."""


Size = tuple[int, int]


@dataclass(frozen=True)
class Base:
    """An original decoded once: upright, sRGB, at `scale` of its upright size."""

    image: pyvips.Image
    scale: float
    sizes: dict[tuple[Size, str], Size] = field(default_factory=dict)
    """The resized size of each plan seen while choosing the base, by (resize box, mode):
    read once from the bytes' header, not again for each render."""


def shareable(spec: TransformSpec, info: ImageInfo) -> bool:
    """Whether a render of `spec` can start from a shared base instead of the bytes."""
    return (
        info.decoder is Decoder.LIBVIPS
        and not info.animated
        and spec.crop is None
        and spec.auto_orient
        and not needs_faces(spec)
        and not needs_background_mask(spec)
    )


def shared_base(
    data: bytes,
    specs: Sequence[TransformSpec],
    info: ImageInfo,
    limits: Limits,
) -> Base | None:
    """The base the shareable `specs` can all be made from, or None if sharing saves nothing
    (fewer than two of them) or would hold too much in memory."""
    chosen = plan_base(data, specs, info)
    return None if chosen is None else decode_base(data, info, chosen)


@dataclass(frozen=True)
class BasePlan:
    """How a base will be decoded, read from the header alone."""

    geometry: Plan
    """The resize of the render that needs the most pixels."""
    scale: float
    size: Size
    """The base's width and height."""
    direct: bool
    """Made by that render's own resize (exactly what it would decode from the bytes)."""
    sizes: dict[tuple[Size, str], Size]

    @property
    def pixels(self) -> int:
        """Pixels the base will hold."""
        return self.size[0] * self.size[1]


def plan_base(
    data: bytes, specs: Sequence[TransformSpec], info: ImageInfo, *, minimum: int = 2
) -> BasePlan | None:
    """The base `shared_base` would decode for `specs`, or None if fewer than `minimum` of
    them can share one or it would hold too much; nothing is decoded."""
    wanted = [spec for spec in specs if shareable(spec, info)]
    if not wanted or len(wanted) < minimum:
        return None
    upright_w, upright_h = info.upright_size()
    sizes: dict[tuple[Size, str], Size] = {}
    needs = [
        (_needed_scale(data, info, plan(spec, info, animated=False), sizes), spec)
        for spec in wanted
    ]
    scale, largest = max(needs, key=lambda need: need[0])
    if min(scale, 1.0) ** 2 * upright_w * upright_h > BASE_MAX_PIXELS:
        return None
    geometry = plan(largest, info, animated=False)
    if geometry.smart_crop is None and scale <= 1.0:
        # The largest render's own resize, as it would make it from the bytes: that
        # render is then exactly what it would have been, and the others derive from it.
        size = _resized_size(data, info, geometry, sizes)
        return BasePlan(geometry, scale, size, direct=True, sizes=sizes)
    scale = min(scale, 1.0)
    size = (math.ceil(upright_w * scale), math.ceil(upright_h * scale))
    return BasePlan(geometry, scale, size, direct=False, sizes=sizes)


def decode_base(data: bytes, info: ImageInfo, chosen: BasePlan) -> Base:
    """Decode every pixel of `data` into the base `chosen` describes.

    A damaged file fails here as it would in a render (`CorruptImage`).
    """
    options: dict[str, Any] = {}
    if info.needs_colour_transform:
        options["output_profile"] = "srgb"
    upright_w, upright_h = info.upright_size()
    with refusing(data, info.format, Stage.DECODE):
        if chosen.direct:
            image = _direct(data, info, chosen.geometry, **options).copy_memory()
            scale = max(image.width / upright_w, image.height / upright_h)
        else:
            image = _still(data, info, chosen.size, "force", options).copy_memory()
            scale = chosen.scale
    return Base(image, scale, chosen.sizes)


def from_base(base: Base, data: bytes, info: ImageInfo, geometry: Plan) -> pyvips.Image | None:
    """The resized frame of a render, made from `base`; None if the base is too small."""
    if _needed_scale(data, info, geometry, base.sizes) > base.scale + 1e-9:
        return None
    width, height = geometry.resize
    if geometry.smart_crop is not None:
        return base.image.thumbnail_image(
            width, height=height, size=geometry.size, crop=geometry.smart_crop
        )
    resized = _resized_size(data, info, geometry, base.sizes)
    if resized == (base.image.width, base.image.height):
        return base.image
    return base.image.thumbnail_image(resized[0], height=resized[1], size="force")


def _needed_scale(
    data: bytes, info: ImageInfo, geometry: Plan, sizes: dict[tuple[Size, str], Size]
) -> float:
    """The scale of the upright original a render's resize needs from its base."""
    upright_w, upright_h = info.upright_size()
    # A smart crop cuts the cover of its box: the box's own scale is what it needs.
    width, height = (
        geometry.resize
        if geometry.smart_crop is not None
        else _resized_size(data, info, geometry, sizes)
    )
    return max(width / upright_w, height / upright_h)


def _resized_size(
    data: bytes, info: ImageInfo, geometry: Plan, sizes: dict[tuple[Size, str], Size]
) -> Size:
    """The size a render's resize from the bytes would have (libvips' own rounding)."""
    key = (geometry.resize, geometry.size)
    if key not in sizes:
        width, height = geometry.resize
        with refusing(data, info.format, Stage.HEADER):
            sizes[key] = load.thumbnail_size(data, info, width, height=height, size=geometry.size)
    return sizes[key]


def _direct(data: bytes, info: ImageInfo, geometry: Plan, **options: Any) -> pyvips.Image:
    """The resize a render from the bytes would make, set up but not computed: its size."""
    with refusing(data, info.format, Stage.HEADER):
        return _still(data, info, geometry.resize, geometry.size, options)


def _still(
    data: bytes, info: ImageInfo, box: Size, fit: str, options: dict[str, Any]
) -> pyvips.Image:
    """`load.thumbnail` of a still frame into `box` (libvips' `size`: `fit`)."""
    width, height = box
    return load.thumbnail(data, info, width, all_frames=False, height=height, size=fit, **options)
