"""Choosing the output format and encoding the result."""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from darkroom.imaging import _webp_pillow as webp
from darkroom.imaging.formats import TRAITS, ImageFormat
from darkroom.imaging.probe import ImageInfo
from darkroom.imaging.spec import OutputFormat, TransformSpec

DEFAULT_QUALITY = {
    ImageFormat.JPEG: 80,
    ImageFormat.WEBP: 80,
    ImageFormat.AVIF: 60,
    ImageFormat.TIFF: 85,
}
AVIF_EFFORT = 0
"""Measured on 800-1600 px photos at Q60 (docs/benchmarks.md): effort 0 takes a third of
effort 2's time for ~4% more bytes at the same SSIM, and is faster than WebP at effort 4
while ~20% smaller; libvips' default (4) takes 7-25x as long for ~10% fewer bytes."""
WEBP_EFFORT = 4
"""libvips' default. Effort 2 takes half the time for ~3% more bytes (docs/benchmarks.md)."""
GIF_EFFORT = 1
"""Palette search effort: libvips' default (7) takes ~5x the time for ~10% smaller GIFs."""


@dataclass(frozen=True, slots=True)
class Encoding:
    """A deployment's encoder choices: time against bytes, the same for every spec."""

    avif_effort: int = AVIF_EFFORT
    webp_effort: int = WEBP_EFFORT


DEFAULT_ENCODING = Encoding()


@dataclass(frozen=True, slots=True)
class Animation:
    """Frame layout and timing carried from the input to an animated output."""

    frames: int
    delay: list[int]
    loop: int


def output_format(
    requested: OutputFormat, info: ImageInfo, accept: str | None = None
) -> ImageFormat:
    """The concrete format for `requested`, resolving `original` and `auto`."""
    return resolve_format(
        requested, info.format, accept, has_alpha=info.has_alpha, animated=info.animated
    )


def resolve_format(
    requested: OutputFormat,
    source: ImageFormat,
    accept: str | None,
    *,
    has_alpha: bool,
    animated: bool,
) -> ImageFormat:
    """The concrete format for `requested` from the source's facts alone (no decode needed)."""
    if requested is OutputFormat.AUTO:
        return negotiate(accept or "", has_alpha=has_alpha, animated=animated)
    if requested is OutputFormat.ORIGINAL:
        if TRAITS[source].writable:
            return source
        return ImageFormat.PNG if has_alpha else ImageFormat.JPEG
    return ImageFormat(requested.value)


def negotiate(accept: str, *, has_alpha: bool, animated: bool) -> ImageFormat:
    """format=auto: AVIF, then WebP if the Accept header allows, else JPEG/PNG by alpha."""
    accepted = set()
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        if "q=0" in params.replace(" ", "") and "q=0." not in params.replace(" ", ""):
            continue
        accepted.add(media.strip().lower())
    if animated:
        return ImageFormat.WEBP if "image/webp" in accepted else ImageFormat.GIF
    if "image/avif" in accepted:
        return ImageFormat.AVIF
    if "image/webp" in accepted:
        return ImageFormat.WEBP
    return ImageFormat.PNG if has_alpha else ImageFormat.JPEG


def encode(
    image: pyvips.Image,
    fmt: ImageFormat,
    spec: TransformSpec,
    animation: Animation | None,
    encoding: Encoding = DEFAULT_ENCODING,
) -> bytes:
    """Encode `image` as `fmt` with the spec's encoder options and the deployment's efforts."""
    if animation is not None:
        image = image.copy()
        page_height = image.height // animation.frames
        image.set_type(pyvips.GValue.gint_type, "page-height", page_height)
        image.set_type(pyvips.GValue.array_int_type, "delay", animation.delay)
        image.set_type(pyvips.GValue.gint_type, "loop", animation.loop)
    keep = "none" if spec.strip else "all"
    quality = spec.quality or DEFAULT_QUALITY.get(fmt, 80)
    data: bytes
    if fmt is ImageFormat.JPEG:
        data = image.jpegsave_buffer(Q=quality, interlace=spec.progressive, keep=keep)
    elif fmt is ImageFormat.PNG:
        data = image.pngsave_buffer(interlace=spec.progressive, keep=keep)
    elif fmt is ImageFormat.WEBP:
        if keep == "none" and not spec.lossless and animation is None and webp.encodable(image):
            data = webp.encode(image, quality, encoding.webp_effort)
        else:
            data = image.webpsave_buffer(
                Q=quality, lossless=spec.lossless, effort=encoding.webp_effort, keep=keep
            )
    elif fmt is ImageFormat.AVIF:
        data = image.heifsave_buffer(
            Q=quality,
            lossless=spec.lossless,
            compression="av1",
            effort=encoding.avif_effort,
            keep=keep,
        )
    elif fmt is ImageFormat.GIF:
        data = image.gifsave_buffer(interlace=spec.progressive, effort=GIF_EFFORT, keep=keep)
    elif fmt is ImageFormat.TIFF:
        lossy = spec.quality is not None and not image.hasalpha()
        compression = "jpeg" if lossy else "deflate"
        data = image.tiffsave_buffer(compression=compression, Q=quality, keep=keep)
    else:
        raise ValueError(f"{fmt} is not an output format")
    return data
