"""`render`: bytes and a spec in, encoded bytes and their metadata out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import pyvips

from darkroom.errors import InvalidSpec, TooManyPixels
from darkroom.imaging import load, redact
from darkroom.imaging._vips import int_field
from darkroom.imaging.base import Base, from_base, shareable
from darkroom.imaging.budget import Budget
from darkroom.imaging.colors import NAMED_COLOURS
from darkroom.imaging.encode import (
    DEFAULT_ENCODING,
    Animation,
    Encoding,
    encode,
    negotiate,
    resolve_format,
)
from darkroom.imaging.formats import TRAITS, ImageFormat
from darkroom.imaging.geometry import SMART_CROPS, Box, Plan, any_inside, plan, source_boxes
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.probe import ImageInfo, probe
from darkroom.imaging.refusals import Stage, refusing
from darkroom.imaging.spec import (
    CUTOUT_FORMATS,
    NEGOTIATED_FORMATS,
    OutputFormat,
    TransformSpec,
    needs_background_mask,
    needs_faces,
)
from darkroom.imaging.steps import Context, run_steps
from darkroom.imaging.watermark import Watermarker

WHITE = NAMED_COLOURS["white"]
TRANSPARENT = NAMED_COLOURS["transparent"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """An encoded result."""

    data: bytes
    format: ImageFormat
    width: int
    height: int
    """Height of one frame."""
    frames: int = 1

    @property
    def size(self) -> int:
        """Encoded size in bytes."""
        return len(self.data)

    @property
    def mime_type(self) -> str:
        """The media type of the encoded bytes."""
        return TRAITS[self.format].mime_type


def render(
    data: bytes,
    spec: TransformSpec | dict[str, Any],
    *,
    limits: Limits = DEFAULT_LIMITS,
    accept: str | None = None,
    info: ImageInfo | None = None,
    budget: Budget | None = None,
    faces: Sequence[Sequence[int]] | None = None,
    background_mask: pyvips.Image | None = None,
    base: Base | None = None,
    encoding: Encoding = DEFAULT_ENCODING,
) -> Rendered:
    """Render `data` through `spec`. `accept` (an HTTP Accept header) resolves format=auto.

    `info` is what `probe(data, limits)` returned for these very bytes, when the caller
    already has it (an immutable original rendered again and again); otherwise the header
    is probed here. With a `budget`, libvips is stopped when it runs out (RenderTimeout).

    The analyzers' outputs, for the specs that use them (the core runs no model):
    `faces` are `(x, y, width, height)` boxes in the upright original's pixels, required
    when `needs_faces(spec)` (an empty list when none was found); `background_mask` is a
    1-band uchar mask of the upright original at any size (255 = keep), required when
    `needs_background_mask(spec)`. A missing one is the caller's bug: ValueError.

    `base` is the same bytes decoded once for several renders (`shared_base`): a render it
    can serve starts from it instead of decoding again, with the same output size.

    Raises only `darkroom.errors` classes: the input's refusals from `probe`, `InvalidSpec`
    for a spec that does not fit the image, `CorruptImage` for data that fails to decode.
    """
    spec = TransformSpec.coerce(spec)
    if faces is None and needs_faces(spec):
        raise ValueError("this spec uses face detection: pass render(..., faces=[boxes])")
    if background_mask is None and needs_background_mask(spec):
        raise ValueError("this spec removes the background: pass render(..., background_mask=)")
    if info is None:
        info = probe(data, limits)
    fmt = output_format_for(
        spec, info.format, accept, has_alpha=info.has_alpha, animated=info.animated
    )
    animated = info.animated and TRAITS[fmt].animation
    upright = info.upright_size(spec.auto_orient)
    boxes = source_boxes(faces or (), spec, upright) if needs_faces(spec) else ()
    mask = background_mask if needs_background_mask(spec) else None
    geometry = plan(
        spec,
        info,
        animated=animated,
        faces=any_inside(boxes, _source(spec, upright)),
        whole_frame=mask is not None or (spec.redact is not None and bool(boxes)),
    )
    # Refused from the header, before a frame is decoded: the output is bounded like the input.
    _check_output_size(*geometry.largest_frame(), info.frames if animated else 1, limits)
    watermarker = Watermarker(spec.watermark, spec.dpr, limits) if spec.watermark else None
    ctx = _context(spec, geometry, fmt, watermarker, boxes)
    if mask is not None:
        ctx = replace(ctx, mask=redact.mask_region(mask, upright, spec.crop))
    with refusing(data, info.format, Stage.DECODE):
        image = None
        if base is not None and not animated and shareable(spec, info):
            image = from_base(base, data, info, geometry)
        if image is None:
            image = _decode(data, spec, info, geometry, animated)
        frames = _frame_count(image) if animated else 1
        animation = _animation(image, frames) if frames > 1 else None
        image = per_frame(image, frames, lambda frame: run_steps(frame, ctx))
        frame_height = image.height // frames
        _check_output_size(image.width, frame_height, frames, limits)
        with budget.watching(image) if budget is not None else nullcontext():
            encoded = encode(image, fmt, spec, animation, encoding)
    return Rendered(encoded, fmt, image.width, frame_height, frames)


def output_format_for(
    spec: TransformSpec,
    source: ImageFormat,
    accept: str | None,
    *,
    has_alpha: bool,
    animated: bool,
) -> ImageFormat:
    """The concrete output format of `spec` for a source, from its facts alone (no decode).

    `resolve_format`, except that remove_background needs alpha: `original` keeps the
    source's format only when it can carry alpha, and both it and `auto` otherwise
    negotiate AVIF, WebP or PNG. remove_background on an animation is refused here
    (InvalidSpec), before anything is decoded.
    """
    if not spec.remove_background:
        return resolve_format(spec.format, source, accept, has_alpha=has_alpha, animated=animated)
    if animated:
        raise InvalidSpec(
            "Invalid transformation: remove_background works on still images only; "
            "this image is animated.",
            details=[{"field": "remove_background", "message": "not for animated images"}],
        )
    if spec.format is OutputFormat.ORIGINAL and source.value in {f.value for f in CUTOUT_FORMATS}:
        return source
    if spec.format in NEGOTIATED_FORMATS:
        return negotiate(accept or "", has_alpha=True, animated=False)
    if spec.format not in CUTOUT_FORMATS:
        # Validation refuses these; a spec copied without validation must not lose the cutout.
        raise InvalidSpec(
            f"Invalid transformation: remove_background needs a format with alpha, "
            f"not format={spec.format}.",
            details=[{"field": "format", "message": "cannot keep alpha"}],
        )
    return ImageFormat(spec.format.value)


def _source(spec: TransformSpec, upright: tuple[int, int]) -> tuple[int, int]:
    crop = spec.crop
    return upright if crop is None else (crop.width, crop.height)


def _context(
    spec: TransformSpec,
    geometry: Plan,
    fmt: ImageFormat,
    watermarker: Watermarker | None,
    faces: tuple[Box, ...] = (),
) -> Context:
    keep_alpha = TRAITS[fmt].alpha
    background = spec.background
    if not keep_alpha:
        flatten_to = background or WHITE
    elif background is not None and background.opaque:
        flatten_to = background
    else:
        flatten_to = None
    canvas = background or (TRANSPARENT if keep_alpha else WHITE)
    return Context(spec, geometry, keep_alpha, flatten_to, canvas, watermarker, faces)


def _decode(
    data: bytes,
    spec: TransformSpec,
    info: ImageInfo,
    geometry: Plan,
    animated: bool,
) -> pyvips.Image:
    width, height = geometry.resize
    options: dict[str, Any] = {"height": height, "size": geometry.size}
    if info.needs_colour_transform:
        # Import through the embedded profile, export as sRGB. CMYK without a profile
        # gets libvips' built-in CMYK profile either way; 16-bit and Lab are handled by
        # the `to_srgb8` step.
        options["output_profile"] = "srgb"
    if geometry.smart_crop:
        options["crop"] = geometry.smart_crop
    if spec.crop is None:
        # Shrink-on-load: the decoder produces (close to) the target size directly.
        return load.thumbnail(
            data,
            info,
            width,
            all_frames=animated,
            libvips_scale=geometry.gravity in SMART_CROPS,
            no_rotate=not spec.auto_orient,
            **options,
        )
    image = load.open_image(data, info, all_frames=animated)
    if spec.auto_orient:
        image = image.autorot()
    crop = spec.crop
    frames = _frame_count(image) if animated else 1
    cropped = per_frame(
        image, frames, lambda f: f.crop(crop.left, crop.top, crop.width, crop.height)
    )
    if frames > 1:
        # Restacking frames drops their metadata: carry the timing over.
        cropped = cropped.copy()
        cropped.set_type(pyvips.GValue.gint_type, "page-height", crop.height)
        for name in ("delay", "loop"):
            if image.get_typeof(name):
                cropped.set_type(image.get_typeof(name), name, image.get(name))
    return cropped.thumbnail_image(width, **options)


def _frame_count(image: pyvips.Image) -> int:
    if image.get_typeof("page-height") == 0:
        return 1
    page_height = int(image.get("page-height"))
    height = int(image.height)
    if page_height <= 0 or height % page_height:
        return 1
    return height // page_height


def _animation(image: pyvips.Image, frames: int) -> Animation:
    has_delay = image.get_typeof("delay") == pyvips.GValue.array_int_type
    delay = list(image.get("delay")) if has_delay else []
    # GIF reports "play N times" up to 65536; WebP stores at most 65535 (0 = forever).
    loop = min(int_field(image, "loop", 0), 65535)
    if len(delay) != frames:
        delay = (delay + [100] * frames)[:frames]
    return Animation(frames, delay, loop)


def per_frame(
    image: pyvips.Image, frames: int, step: Callable[[pyvips.Image], pyvips.Image]
) -> pyvips.Image:
    """Apply `step` to each frame of a vertically stacked animation and restack them."""
    if frames <= 1:
        return step(image)
    page_height = image.height // frames
    parts = [step(image.crop(0, i * page_height, image.width, page_height)) for i in range(frames)]
    return pyvips.Image.arrayjoin(parts, across=1)


def _check_output_size(width: int, height: int, frames: int, limits: Limits) -> None:
    details = {"width": width, "height": height, "frames": frames}
    if width * height > limits.max_pixels:
        raise TooManyPixels(
            f"The result would be {width}x{height}; the limit is {limits.max_pixels / 1e6:.1f} MP.",
            details=details | {"max_pixels": limits.max_pixels},
        )
    total = width * height * frames
    if total > limits.max_animation_pixels:
        raise TooManyPixels(
            f"The result would be {frames} frames of {width}x{height} ({total / 1e6:.0f} MP in "
            f"all); the limit for all frames together is "
            f"{limits.max_animation_pixels / 1e6:.0f} MP. Ask for a smaller size.",
            details=details | {"max_animation_pixels": limits.max_animation_pixels},
        )
