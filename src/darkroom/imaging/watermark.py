"""Watermarks: an image or a line of text, scaled to the result and composited at a position."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html import escape

import pyvips

from darkroom.errors import ImageError, InvalidSpec
from darkroom.imaging import load
from darkroom.imaging._vips import VIPS_MAX_COORD
from darkroom.imaging.geometry import gravity_offset
from darkroom.imaging.limits import Limits
from darkroom.imaging.probe import ImageInfo, probe
from darkroom.imaging.refusals import Stage, refusing
from darkroom.imaging.spec import Watermark

WATERMARK_FONT = "sans"


class Watermarker:
    """Builds the overlay once per result size and composites it onto each frame."""

    def __init__(self, mark: Watermark, dpr: float, limits: Limits) -> None:
        self._mark = mark
        self._dpr = dpr
        self._overlays: dict[tuple[int, int], pyvips.Image] = {}
        self._info: ImageInfo | None = None
        if mark.image is not None:
            with _about_the_mark():
                self._info = probe(mark.image, limits)

    def apply(self, image: pyvips.Image) -> pyvips.Image:
        """`image` with the mark composited over it; an opaque image stays opaque."""
        margin_x = round(self._mark.margin * self._dpr)
        margin_y = round(_or(self._mark.margin_y, self._mark.margin) * self._dpr)
        if image.width <= 2 * margin_x or image.height <= 2 * margin_y:
            margin_x = margin_y = 0
        area = (image.width - 2 * margin_x, image.height - 2 * margin_y)
        overlay = self._overlay(area)
        x, y = gravity_offset(self._mark.position, area, (overlay.width, overlay.height))
        had_alpha = image.hasalpha()
        result = image.composite2(overlay, "over", x=x + margin_x, y=y + margin_y)
        if not had_alpha:
            result = result.extract_band(0, n=image.bands)
        return result.cast("uchar")

    def _overlay(self, area: tuple[int, int]) -> pyvips.Image:
        if area not in self._overlays:
            overlay = self._image(area) if self._mark.image is not None else self._text(area)
            self._overlays[area] = overlay.copy_memory()
        return self._overlays[area]

    def _image(self, area: tuple[int, int]) -> pyvips.Image:
        assert self._mark.image is not None
        assert self._info is not None
        width = max(1, round(area[0] * self._mark.size))
        with _about_the_mark(), refusing(self._mark.image, self._info.format, Stage.DECODE):
            # Decoded here, so that a mark that fails is not blamed on the picture.
            mark = load.thumbnail(
                self._mark.image,
                self._info,
                min(width, area[0]),
                all_frames=False,
                height=area[1] or VIPS_MAX_COORD,
                output_profile="srgb",
            ).copy_memory()
        if mark.interpretation != "srgb":
            mark = mark.colourspace("srgb")
        if not mark.hasalpha():
            mark = mark.bandjoin_const([255])
        return (mark * [1, 1, 1, self._mark.opacity]).cast("uchar")

    def _text(self, area: tuple[int, int]) -> pyvips.Image:
        assert self._mark.text is not None
        size = max(1, round(self._mark.font_size * self._dpr))
        try:
            # Pango reads markup; escaping makes user text literal. At 72 dpi, points are px.
            mask = pyvips.Image.text(
                escape(self._mark.text),
                font=f"{WATERMARK_FONT} {size}",
                dpi=72,
                width=max(1, area[0]),
            ).copy_memory()
        except pyvips.Error:
            # The spec's fault, not the picture's: nothing visible to draw, or too big to draw.
            raise InvalidSpec(
                f"The watermark text cannot be drawn at {size} px: it has no visible "
                "character, or is too large for a text image. Use other text or a smaller "
                "font_size.",
                details=[{"field": "watermark.text", "message": "cannot be drawn"}],
            ) from None
        colour = self._mark.color
        alpha = (mask * (self._mark.opacity * colour.a / 255)).cast("uchar")
        ink = mask.new_from_image(list(colour[:3])).copy(interpretation="srgb")
        return ink.bandjoin(alpha)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


@contextmanager
def _about_the_mark() -> Iterator[None]:
    """Say that a refused image is the watermark, not the picture being rendered."""
    try:
        yield
    except ImageError as exc:
        raise type(exc)(f"Watermark image: {exc.message}", details=exc.details) from None
