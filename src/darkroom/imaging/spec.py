"""The transformation spec: one validated model for profiles, on-demand URLs and `/jobs`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from darkroom.errors import InvalidSpec, field_problems
from darkroom.imaging.colors import RGBA, Color
from darkroom.imaging.spec_parts import Corners, Focus, Padding

MAX_DIMENSION = 16383
"""The largest side any output format accepts (WebP's limit is the smallest)."""

CANONICAL_VERSION = 1
"""Bumped when rendering semantics change, so that old outputs are never reused wrongly."""


class Fit(StrEnum):
    """How the image is fitted into the requested box."""

    CONTAIN = "contain"
    COVER = "cover"
    FILL = "fill"
    PAD = "pad"


class Gravity(StrEnum):
    """Which part of the image to keep (cover) or where to place it (pad)."""

    CENTRE = "centre"
    NORTH = "north"
    NORTHEAST = "northeast"
    EAST = "east"
    SOUTHEAST = "southeast"
    SOUTH = "south"
    SOUTHWEST = "southwest"
    WEST = "west"
    NORTHWEST = "northwest"
    ATTENTION = "attention"
    ENTROPY = "entropy"
    FACE = "face"


COMPASS: tuple[Gravity, ...] = (
    Gravity.NORTH,
    Gravity.NORTHEAST,
    Gravity.EAST,
    Gravity.SOUTHEAST,
    Gravity.SOUTH,
    Gravity.SOUTHWEST,
    Gravity.WEST,
    Gravity.NORTHWEST,
)
SMART_GRAVITIES = frozenset({Gravity.ATTENTION, Gravity.ENTROPY, Gravity.FACE})

_GRAVITY_ALIASES = {
    "center": "centre",
    "c": "centre",
    "n": "north",
    "ne": "northeast",
    "e": "east",
    "se": "southeast",
    "s": "south",
    "sw": "southwest",
    "w": "west",
    "nw": "northwest",
    "smart": "attention",
}


class OutputFormat(StrEnum):
    """The encoded format of a result; `original` keeps the input's, `auto` negotiates."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    AVIF = "avif"
    GIF = "gif"
    TIFF = "tiff"
    ORIGINAL = "original"
    AUTO = "auto"


_FORMAT_ALIASES = {"jpg": "jpeg", "tif": "tiff"}
LOSSLESS_FORMATS = frozenset({OutputFormat.WEBP, OutputFormat.AVIF})
QUALITY_FORMATS = frozenset(
    {OutputFormat.JPEG, OutputFormat.WEBP, OutputFormat.AVIF, OutputFormat.TIFF}
)
PROGRESSIVE_FORMATS = frozenset({OutputFormat.JPEG, OutputFormat.PNG, OutputFormat.GIF})
NEGOTIATED_FORMATS = frozenset({OutputFormat.ORIGINAL, OutputFormat.AUTO})


def _alias(table: dict[str, str]) -> BeforeValidator:
    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().lower()
            return table.get(text, text)
        return value

    return BeforeValidator(normalise)


def _decode_image_bytes(value: Any) -> Any:
    # JSON carries watermark images as base64; Python callers may pass raw bytes.
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("watermark image must be base64-encoded image bytes") from None
    return value


WatermarkImage = Annotated[
    bytes,
    BeforeValidator(_decode_image_bytes),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class RedactMode(StrEnum):
    """How a detected region is made unrecognisable."""

    BLUR = "blur"
    PIXELATE = "pixelate"
    FILL = "fill"


class Redact(_Model):
    """What to anonymise, from the analyzers' detections, and how."""

    faces: Annotated[RedactMode, _alias({})] = Field(
        description=(
            "Hide every detected face (its box padded by 20 % on each side): a strong "
            "blur, about 8 pixel blocks across, or a solid fill with the background colour "
            "(black by default)."
        ),
    )


class Crop(_Model):
    """A rectangle cut from the upright original, in its pixels, before any resize."""

    left: int = Field(0, ge=0, description="Pixels from the left edge.")
    top: int = Field(0, ge=0, description="Pixels from the top edge.")
    width: int = Field(ge=1, description="Width of the rectangle in pixels.")
    height: int = Field(ge=1, description="Height of the rectangle in pixels.")


class Watermark(_Model):
    """An image or a line of text composited onto the result."""

    image: WatermarkImage | None = Field(None, description="Image bytes (base64 in JSON).")
    text: str | None = Field(None, min_length=1, max_length=200, description="Text to draw.")
    position: Annotated[Gravity, _alias(_GRAVITY_ALIASES)] = Field(
        Gravity.SOUTHEAST, description="Corner, edge or centre where the mark sits."
    )
    opacity: float = Field(0.5, gt=0, le=1, description="0 (invisible) to 1 (opaque).")
    margin: int = Field(16, ge=0, le=1000, description="Distance from the edges, in CSS px.")
    margin_y: int | None = Field(
        None, ge=0, le=1000, description="Distance from the top or bottom edge (default: margin)."
    )
    size: float = Field(
        0.25, gt=0, le=1, description="Image mark width as a fraction of the result's width."
    )
    font_size: int = Field(24, ge=6, le=512, description="Text height in CSS px.")
    color: Color = Field(default_factory=lambda: RGBA(255, 255, 255), description="Text colour.")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.image is None) == (self.text is None):
            raise ValueError("a watermark needs exactly one of 'image' or 'text'")
        if self.position in SMART_GRAVITIES:
            raise ValueError("watermark position must be 'centre' or a compass point")
        if self.text is not None and not any(
            c.isprintable() and not c.isspace() for c in self.text
        ):
            raise ValueError("watermark text must have a visible character")
        return self


class TransformSpec(_Model):
    """Everything a rendering does to an image. Unset fields keep their documented default."""

    width: int | None = Field(None, ge=1, le=MAX_DIMENSION, description="Target width, CSS px.")
    height: int | None = Field(None, ge=1, le=MAX_DIMENSION, description="Target height, CSS px.")
    fit: Annotated[Fit, _alias({})] = Field(Fit.CONTAIN, description="contain|cover|fill|pad.")
    gravity: Annotated[Gravity, _alias(_GRAVITY_ALIASES)] = Field(
        Gravity.CENTRE,
        description=(
            "Kept region for cover, placement for pad. face (cover only) keeps the detected "
            "faces, or falls back to attention when there are none."
        ),
    )
    enlarge: bool = Field(False, description="Allow upscaling beyond the source size.")
    crop: Crop | None = Field(None, description="Cut applied to the upright source first.")
    rotate: int = Field(0, description="Clockwise rotation: a multiple of 90 degrees.")
    flip: bool = Field(False, description="Mirror top to bottom.")
    flop: bool = Field(False, description="Mirror left to right.")
    auto_orient: bool = Field(True, description="Apply, then clear, the EXIF orientation.")
    blur: float | None = Field(None, ge=0.3, le=100, description="Gaussian blur sigma.")
    sharpen: float | None = Field(None, ge=0.3, le=10, description="Sharpening sigma.")
    sharpen_amount: float | None = Field(
        None, gt=0, le=10, description="Sharpening strength (libvips m2; default 3)."
    )
    background: Color | None = Field(
        None, description="Colour for padding and for flattening alpha (default white)."
    )
    watermark: Watermark | None = Field(None, description="Image or text mark.")
    format: Annotated[OutputFormat, _alias(_FORMAT_ALIASES)] = Field(
        OutputFormat.ORIGINAL, description="Output format."
    )
    quality: int | None = Field(None, ge=1, le=100, description="Lossy encoder quality.")
    strip: bool = Field(True, description="Drop EXIF/XMP/IPTC; colour is always sRGB.")
    progressive: bool = Field(False, description="Progressive JPEG, interlaced PNG/GIF.")
    lossless: bool = Field(False, description="Lossless WebP/AVIF.")
    dpr: float = Field(1.0, ge=1, le=4, description="Device pixel ratio multiplying sizes.")
    redact: Redact | None = Field(
        None, description="Anonymise detected faces on every frame, before the watermark."
    )
    remove_background: bool = Field(
        False,
        description=(
            "Make the background transparent (a segmentation mask as alpha); needs an output "
            "format with alpha (png, webp, avif, tiff) and a still image."
        ),
    )
    focus: Focus | None = Field(
        None, description="fit=cover keeps this point of the source in the middle of its cut."
    )
    grayscale: bool = Field(False, description="Turn the result to shades of grey.")
    padding: Padding | None = Field(
        None, description="Space added around the result, in the background colour."
    )
    corners: Corners | None = Field(None, description="Round the result's corners.")

    @field_validator("rotate")
    @classmethod
    def _quarter_turns(cls, value: int) -> int:
        if value % 90:
            raise ValueError("rotate must be a multiple of 90 (0, 90, 180 or 270)")
        return value % 360

    @field_validator("blur", "sharpen", mode="before")
    @classmethod
    def _zero_is_off(cls, value: Any) -> Any:
        return None if value in (0, "0") else value

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        problems = [p for check in _COMBINATION_CHECKS if (p := check(self))]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def coerce(cls, value: TransformSpec | dict[str, Any]) -> TransformSpec:
        """The spec itself, or one validated from a plain dict of its fields."""
        if isinstance(value, TransformSpec):
            return value
        return validate_spec(value)

    def canonical(self) -> dict[str, Any]:
        """The fields that differ from their defaults, in JSON types: the spec's meaning."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def spec_hash(self) -> str:
        """A stable 16-hex-digit digest of the canonical form (key order is irrelevant)."""
        payload = json.dumps(
            {"v": CANONICAL_VERSION, "spec": self.canonical()},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return hashlib.sha256(payload.encode("ascii")).hexdigest()[:16]

    def scaled(self, value: int | None) -> int | None:
        """A CSS-pixel size in device pixels."""
        return None if value is None else max(1, round(value * self.dpr))


def _needs_both_sides(spec: TransformSpec) -> str | None:
    if spec.fit is not Fit.CONTAIN and (spec.width is None or spec.height is None):
        return f"fit={spec.fit} needs both width and height"
    return None


def _gravity_applies(spec: TransformSpec) -> str | None:
    if spec.gravity is not Gravity.CENTRE and spec.fit in (Fit.CONTAIN, Fit.FILL):
        return f"gravity only applies to fit=cover or fit=pad, not fit={spec.fit}"
    if spec.gravity in SMART_GRAVITIES and spec.fit is Fit.PAD:
        return f"gravity={spec.gravity} chooses a crop; use it with fit=cover"
    return None


def _focus_applies(spec: TransformSpec) -> str | None:
    if spec.focus is not None and spec.fit is not Fit.COVER:
        return f"focus chooses the cut of fit=cover, not fit={spec.fit}"
    if spec.focus is not None and spec.gravity is not Gravity.CENTRE:
        return "give either focus or gravity, not both"
    if spec.sharpen_amount is not None and spec.sharpen is None:
        return "sharpen_amount needs sharpen (the sigma)"
    return None


def _encoder_options_apply(spec: TransformSpec) -> str | None:
    fmt = spec.format
    if fmt in NEGOTIATED_FORMATS:
        return None
    if spec.lossless and fmt not in LOSSLESS_FORMATS:
        return f"lossless applies to webp and avif only, not format={fmt}"
    if spec.lossless and spec.quality is not None:
        return "quality has no effect with lossless=true; set one or the other"
    if spec.quality is not None and fmt not in QUALITY_FORMATS:
        return f"quality applies to jpeg, webp, avif and tiff; format={fmt} is lossless"
    if spec.progressive and fmt not in PROGRESSIVE_FORMATS:
        return f"progressive applies to jpeg, png and gif only, not format={fmt}"
    return None


def _fits_output_limits(spec: TransformSpec) -> str | None:
    for name, value in (("width", spec.width), ("height", spec.height)):
        if value is not None and value * spec.dpr > MAX_DIMENSION:
            return f"{name} x dpr must not exceed {MAX_DIMENSION} pixels"
    return None


CUTOUT_FORMATS = frozenset(
    {OutputFormat.PNG, OutputFormat.WEBP, OutputFormat.AVIF, OutputFormat.TIFF}
)
"""Formats that keep the alpha of remove_background (GIF's 1-bit alpha would shred edges)."""


def _detections_fit(spec: TransformSpec) -> str | None:
    uses = [
        name
        for name, used in (
            ("gravity=face", spec.gravity is Gravity.FACE),
            ("redact", spec.redact is not None),
            ("remove_background", spec.remove_background),
        )
        if used
    ]
    if uses and not spec.auto_orient:
        verb, pronoun = ("works", "it needs") if len(uses) == 1 else ("work", "they need")
        return f"{' and '.join(uses)} {verb} on the upright image: {pronoun} auto_orient=true"
    fmt = spec.format
    if spec.remove_background and fmt not in NEGOTIATED_FORMATS and fmt not in CUTOUT_FORMATS:
        return (
            f"remove_background makes the background transparent: format={fmt} cannot keep "
            "alpha; use png, webp, avif or tiff (or auto/original)"
        )
    return None


_COMBINATION_CHECKS = (
    _needs_both_sides,
    _gravity_applies,
    _focus_applies,
    _encoder_options_apply,
    _fits_output_limits,
    _detections_fit,
)


def needs_faces(spec: TransformSpec) -> bool:
    """Whether rendering `spec` needs the face boxes (`render(..., faces=...)`)."""
    return spec.gravity is Gravity.FACE or spec.redact is not None


def needs_background_mask(spec: TransformSpec) -> bool:
    """Whether rendering `spec` needs the background mask (`render(..., background_mask=...)`)."""
    return spec.remove_background


def validate_spec(data: dict[str, Any], *, names: dict[str, str] | None = None) -> TransformSpec:
    """Validate a dict into a spec, turning every problem into one `InvalidSpec`.

    `names` maps field names to the names the caller used (e.g. `w` for `width`), so
    messages speak the caller's language.
    """
    try:
        return TransformSpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error(exc, names or {}) from None


def spec_error(exc: ValidationError, names: dict[str, str]) -> InvalidSpec:
    """An `InvalidSpec` listing each problem of a pydantic `ValidationError`."""
    problems = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(part) for part in error["loc"])
        loc = names.get(loc, loc)
        problems.append((loc or None, str(error["msg"]).removeprefix("Value error, ")))
    summary, details = field_problems(problems)
    return InvalidSpec(f"Invalid transformation: {summary}", details=details)
