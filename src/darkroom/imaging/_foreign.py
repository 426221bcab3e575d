"""What the decoders outside libvips share: their header, and handing their pixels to libvips.

Pillow (BMP, ICO/CUR, AVIF sequences) and pi-heif (HEVC-coded HEIF) read the header first,
so that every limit is checked before any pixel exists; their decoded frames then enter
the same libvips pipeline as every other input, one frame at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pyvips


class Decoder(StrEnum):
    """Who turns an input's bytes into pixels."""

    LIBVIPS = "libvips"
    PILLOW = "pillow"
    PI_HEIF = "pi-heif"


FrameStep = Callable[[pyvips.Image], pyvips.Image]
"""Work done on each decoded frame before the next is decoded (typically a thumbnail)."""

MODES: dict[str, tuple[int, str]] = {
    "L": (1, "b-w"),
    "LA": (2, "b-w"),
    "RGB": (3, "srgb"),
    "RGBA": (4, "srgb"),
}
"""The pixel layouts handed to libvips (bands, interpretation), all 8 bits per sample."""

DEFAULT_DELAY_MS = 100


@dataclass(frozen=True, slots=True)
class Header:
    """What a foreign decoder read from an input's header, before decoding anything."""

    width: int
    """Width of one frame as displayed (container transforms applied)."""
    height: int
    frames: int
    mode: str
    """A key of MODES: the layout the decoded pixels will have."""
    icc: bytes
    loader: str

    @property
    def bands(self) -> int:
        """Samples per pixel of the decoded frames."""
        return MODES[self.mode][0]

    @property
    def interpretation(self) -> str:
        """libvips interpretation of the decoded frames."""
        return MODES[self.mode][1]

    @property
    def has_alpha(self) -> bool:
        """Whether the decoded frames carry alpha."""
        return self.mode.endswith("A")


def from_pixels(
    pixels: bytes | memoryview, width: int, height: int, mode: str, icc: bytes
) -> pyvips.Image:
    """A libvips image over decoded 8-bit pixels (kept alive by the image), ICC attached."""
    bands, interpretation = MODES[mode]
    image = pyvips.Image.new_from_memory(pixels, width, height, bands, "uchar")
    image = image.copy(interpretation=interpretation)
    if icc:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
    return image


def stack(frames: Sequence[pyvips.Image], delays: Sequence[int]) -> pyvips.Image:
    """Frames as libvips holds an animation: one tall image, with page height and timing."""
    if len(frames) == 1:
        return frames[0]
    image = pyvips.Image.arrayjoin(list(frames), across=1).copy()
    image.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
    image.set_type(pyvips.GValue.gint_type, "n-pages", len(frames))
    image.set_type(pyvips.GValue.array_int_type, "delay", list(delays))
    image.set_type(pyvips.GValue.gint_type, "loop", 0)
    return image
