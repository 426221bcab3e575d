"""How much work a render is, estimated from the header and the spec before any decoding.

The unit is roughly "megapixels pushed through a plain resize": decoding what the loader
must decode, computing each output frame (multiplied by the effects on it) and encoding it.
The estimate only needs to sort renders into cheap and heavy ones, so that a few heavy
ones (a 100 MP PNG, a big blur, a long animation enlarged) cannot make every thumbnail
wait behind them.
"""

from __future__ import annotations

from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.geometry import plan_for_size
from darkroom.imaging.spec import TransformSpec

HEAVY_COST = 8.0
"""Renders above this run in the heavy lane. A 6000x4000 JPEG to 1200 px costs ~2; a
100 MP PNG thumbnail ~50; a 44-frame GIF enlarged to 2000 px as WebP ~350."""

_DECODE_WEIGHT = 0.5
_ENCODE_WEIGHT = {
    ImageFormat.AVIF: 8.0,
    ImageFormat.GIF: 3.0,
    ImageFormat.WEBP: 2.0,
    ImageFormat.PNG: 1.5,
    ImageFormat.TIFF: 1.5,
}
_JPEG_SHRINK_ON_LOAD = (8, 4, 2)


def render_cost(
    spec: TransformSpec,
    upright: tuple[int, int],
    *,
    source: ImageFormat,
    output: ImageFormat,
    frames: int,
) -> float:
    """Estimated work of rendering `spec` from an image of `frames` frames of size `upright`.

    `frames` is how many frames the render decodes and writes (1 unless the output animates).
    """
    geometry = plan_for_size(spec, upright, animated=frames > 1)
    out_w, out_h = geometry.largest_frame()
    src_w, src_h = geometry.source
    shrink = _shrink_on_load(source, (src_w, src_h), (out_w, out_h)) if spec.crop is None else 1
    decoded = src_w * src_h / (shrink * shrink) * frames
    effects = (
        1.0 + 1.2 * (spec.blur or 0) + (1.0 if spec.sharpen else 0) + (0.5 if spec.watermark else 0)
    )
    produced = out_w * out_h * frames * effects * _ENCODE_WEIGHT.get(output, 1.0)
    return (decoded * _DECODE_WEIGHT + produced) / 1e6


def is_heavy(cost: float) -> bool:
    """Whether a render of this cost belongs in the heavy lane."""
    return cost > HEAVY_COST


def _shrink_on_load(source: ImageFormat, size: tuple[int, int], target: tuple[int, int]) -> int:
    # libjpeg decodes at 1/2, 1/4 or 1/8 scale when the target allows; libvips asks for the
    # largest that stays above the target size.
    if source is not ImageFormat.JPEG:
        return 1
    ratio = min(size[0] / max(1, target[0]), size[1] / max(1, target[1]))
    return next((shrink for shrink in _JPEG_SHRINK_ON_LOAD if ratio >= shrink), 1)
