"""Bytes to pyvips images for every accepted input: libvips' own loaders, or Pillow and pi-heif.

libvips inputs keep shrink-on-load and lazy, sequential decoding. The others are decoded by
their library one frame at a time, each frame going through the caller's work (a thumbnail)
before the next is decoded, so an animation never sits in memory at full size.
"""

from __future__ import annotations

from typing import Any

import pyvips

from darkroom.imaging import _heif, _pillow
from darkroom.imaging._foreign import Decoder, FrameStep
from darkroom.imaging._vips import LOAD_OPTIONS, libvips_bytes
from darkroom.imaging.probe import ImageInfo

_DECODERS = {Decoder.PILLOW: _pillow.decode, Decoder.PI_HEIF: _heif.decode}


def thumbnail(
    data: bytes, info: ImageInfo, width: int, *, all_frames: bool, **options: Any
) -> pyvips.Image:
    """libvips `thumbnail` of the input (all frames stacked when `all_frames`)."""
    if info.decoder is Decoder.LIBVIPS:
        return pyvips.Image.thumbnail_buffer(
            libvips_bytes(data, info.format),
            width,
            option_string=_load_options(all_frames),
            **options,
        )

    def shrink(frame: pyvips.Image) -> pyvips.Image:
        # Materialised now, so that the full-size frame can go before the next is decoded.
        return frame.thumbnail_image(width, **options).copy_memory()

    return _decode(data, info, all_frames, shrink)


def open_image(data: bytes, info: ImageInfo, *, all_frames: bool) -> pyvips.Image:
    """The input at full size (all frames stacked when `all_frames`)."""
    if info.decoder is Decoder.LIBVIPS:
        return pyvips.Image.new_from_buffer(
            libvips_bytes(data, info.format), _load_options(all_frames)
        )
    return _decode(data, info, all_frames, lambda frame: frame)


def _decode(data: bytes, info: ImageInfo, all_frames: bool, step: FrameStep) -> pyvips.Image:
    return _DECODERS[info.decoder](data, info.format, all_frames=all_frames, step=step)


def _load_options(all_frames: bool) -> str:
    return LOAD_OPTIONS + (",n=-1" if all_frames else "")
