"""Full validation of an upload: the probe's checks plus a decode of every pixel."""

from __future__ import annotations

from darkroom.imaging import load
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.probe import ImageInfo, probe
from darkroom.imaging.refusals import Stage, refusing

VERIFY_SIZE = 64
"""Decoding to a thumbnail reads all the data (shrink-on-load still walks every JPEG block)."""


def verify(data: bytes, limits: Limits = DEFAULT_LIMITS) -> ImageInfo:
    """Probe `data`, then decode it all at small scale so truncation is caught up front.

    A header can be intact while the body is cut short; accepting such a file would only
    defer the failure to every variant. Animations are checked frame by frame.
    """
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
