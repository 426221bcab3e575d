"""Limits enforced on every input before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field

from darkroom.imaging.formats import ImageFormat

DEFAULT_INPUT_FORMATS: frozenset[ImageFormat] = frozenset(
    {
        ImageFormat.JPEG,
        ImageFormat.PNG,
        ImageFormat.GIF,
        ImageFormat.WEBP,
        ImageFormat.AVIF,
        ImageFormat.HEIF,
        ImageFormat.TIFF,
        ImageFormat.BMP,
        ImageFormat.ICO,
        ImageFormat.CUR,
    }
)


@dataclass(frozen=True, slots=True)
class Limits:
    """What an input may be. Defaults suit a public upload endpoint."""

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    """Per frame, as declared by the header."""
    max_frames: int = 256
    max_animation_pixels: int = 500_000_000
    """All frames together: width x height x frames."""
    input_formats: frozenset[ImageFormat] = field(default=DEFAULT_INPUT_FORMATS)
    """SVG and PDF are refused unless added here: they are rendered by external engines."""


DEFAULT_LIMITS = Limits()
