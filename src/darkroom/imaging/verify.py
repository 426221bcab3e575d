"""Full validation of an upload: the probe's checks plus a decode of every pixel."""

from __future__ import annotations

from darkroom.imaging import load
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.probe import ImageInfo, probe
from darkroom.imaging.refusals import Stage, refusing

VERIFY_SIZE = 64
"""Decoding to a thumbnail reads all the data (shrink-on-load still walks every JPEG block)."""

WHOLE_AT_ANY_SCALE = frozenset({ImageFormat.JPEG, ImageFormat.PNG, ImageFormat.WEBP})
"""Formats whose decode at any scale reads all their image data. HEIF and TIFF can hold a
preview or a pyramid level that a scaled decode reads instead of the main image."""


def verified_by_decoding(info: ImageInfo) -> bool:
    """Whether decoding a still frame of this file at any scale (a render's shared base,
    say) verifies it as `verify` would."""
    return info.format in WHOLE_AT_ANY_SCALE and not info.animated


def verify(
    data: bytes, limits: Limits = DEFAULT_LIMITS, *, info: ImageInfo | None = None
) -> ImageInfo:
    """Probe `data`, then decode it all at small scale so truncation is caught up front.

    A header can be intact while the body is cut short; accepting such a file would only
    defer the failure to every variant. Animations are checked frame by frame. `info` is
    what `probe(data, limits)` already said, if the caller has it.
    """
    if info is None:
        info = probe(data, limits)
    with refusing(data, info.format, Stage.DECODE):
        thumbnail = load.thumbnail(
            data,
            info,
            VERIFY_SIZE,
            height=VERIFY_SIZE,
            no_rotate=True,
            all_frames=info.animated,
        )
        thumbnail.avg()
    return info
