"""`Picture`: what every analyzer reads — the upright image at a bounded size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvips

from darkroom.imaging import load
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.probe import ImageInfo, probe
from darkroom.imaging.refusals import Stage, refusing


@dataclass(frozen=True, slots=True)
class Picture:
    """An upright sRGB picture, 3 bands (RGB) of uchar, at most `max_side` on its long side.

    `scale` maps its pixels back to the upright original's: original = picture * scale.
    Analyzers report coordinates in the original's pixels, through `to_original`.
    """

    image: pyvips.Image
    scale: float
    original_width: int
    original_height: int

    @property
    def width(self) -> int:
        return int(self.image.width)

    @property
    def height(self) -> int:
        return int(self.image.height)

    def to_original(self, value: float) -> int:
        """A length or coordinate in the picture, in the original's pixels."""
        return round(value * self.scale)

    def box_to_original(self, x: float, y: float, w: float, h: float) -> list[int]:
        """An `[x, y, w, h]` box in the picture, in the original's pixels, kept inside it."""
        left = min(max(self.to_original(x), 0), self.original_width)
        top = min(max(self.to_original(y), 0), self.original_height)
        right = min(max(self.to_original(x + w), left), self.original_width)
        bottom = min(max(self.to_original(y + h), top), self.original_height)
        return [left, top, right - left, bottom - top]


def load_picture(
    data: bytes,
    max_side: int,
    *,
    limits: Limits = DEFAULT_LIMITS,
    info: ImageInfo | None = None,
) -> Picture:
    """Decode the first frame of `data`, upright, flattened on white, as sRGB RGB uchar.

    Never enlarges: a picture smaller than `max_side` keeps its size (scale 1.0).
    """
    if info is None:
        info = probe(data, limits)
    width, height = info.upright_size()
    target = min(max_side, max(width, height))
    options: dict[str, Any] = {"height": target, "size": "down"}
    if info.needs_colour_transform:
        options["output_profile"] = "srgb"
    with refusing(data, info.format, Stage.DECODE):
        image = load.thumbnail(data, info, target, all_frames=False, libvips_scale=True, **options)
        image = _to_rgb(image).copy_memory()
    scale = max(width, height) / max(int(image.width), int(image.height))
    return Picture(image, scale, width, height)


def _to_rgb(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    if image.bands == 1:
        image = image.bandjoin([image, image])
    elif image.bands == 2:
        image = image[0].bandjoin([image[0], image[0]])
    if image.format != "uchar":
        image = image.cast("uchar")
    return image.copy(interpretation="srgb")
