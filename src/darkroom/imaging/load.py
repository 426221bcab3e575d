"""Bytes to pyvips images for every accepted input: libvips' own loaders, TurboJPEG for
JPEGs it decodes the same, or Pillow and pi-heif.

libvips inputs keep shrink-on-load and lazy, sequential decoding (a JPEG that TurboJPEG
decodes at a scale is held whole, up to 64 MiB: `_jpeg_turbo`). The others are decoded by
their library one frame at a time, each frame going through the caller's work (a thumbnail)
before the next is decoded, so an animation never sits in memory at full size.

A colour or grey JPEG shrinks on load by the largest factor (2 or 4) that keeps it at least
the size of the result, as imgproxy and thumbor do. libvips' own `thumbnail` leaves a
further factor of two for its resize, so a 3000x2000 photo decodes whole for an 800 px
result instead of at 1500x1000: a fifth of that render's CPU, for a mean difference of
0.2-1 level against a whole decode (44-53 dB PSNR on the benchmark photos; the table is in
docs/benchmarks.md). CMYK JPEGs and smart crops keep libvips' choice: CMYK's scaled decode
drifts by 7+ levels, and a smart crop's window moves with the pixels it weighs.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import pyvips

from darkroom.imaging import _heif, _pillow
from darkroom.imaging._foreign import Decoder, FrameStep
from darkroom.imaging._jpeg_turbo import decode_scaled
from darkroom.imaging._vips import LOAD_OPTIONS, libvips_bytes
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.probe import ImageInfo

_DECODERS = {Decoder.PILLOW: _pillow.decode, Decoder.PI_HEIF: _heif.decode}


def thumbnail(
    data: bytes,
    info: ImageInfo,
    width: int,
    *,
    all_frames: bool,
    libvips_scale: bool = False,
    **options: Any,
) -> pyvips.Image:
    """libvips `thumbnail` of the input (all frames stacked when `all_frames`).

    `libvips_scale` decodes a JPEG at the scale libvips' own `thumbnail` takes: for pixels
    that a smart crop will weigh, or an analyzer compared with a reference made so.
    """
    if info.decoder is Decoder.LIBVIPS:
        source = libvips_bytes(data, info.format)
        fast = not (all_frames or libvips_scale or "crop" in options)
        if fast and info.format is ImageFormat.JPEG and info.bands in (1, 3):
            return _jpeg_thumbnail(source, info, width, options)
        return pyvips.Image.thumbnail_buffer(
            source, width, option_string=_load_options(all_frames), **options
        )

    def shrink(frame: pyvips.Image) -> pyvips.Image:
        # Materialised now, so that the full-size frame can go before the next is decoded.
        return frame.thumbnail_image(width, **options).copy_memory()

    return _decode(data, info, all_frames, shrink)


def thumbnail_size(data: bytes, info: ImageInfo, width: int, **options: Any) -> tuple[int, int]:
    """The size `thumbnail` gives a still frame, read from the header alone (libvips' own
    rounding); nothing is decoded for a libvips input."""
    if info.decoder is Decoder.LIBVIPS:
        source = libvips_bytes(data, info.format)
        if info.format is ImageFormat.JPEG:
            return _jpeg_size(source, info, width, options)
        planned = _planned(source, width, options)
    else:
        planned = thumbnail(data, info, width, all_frames=False, **options)
    return int(planned.width), int(planned.height)


class _Sizes:
    """libvips' thumbnail sizes of JPEGs, by what decides them: the stored size, the
    orientation and the request. Setting up a `thumbnail_buffer` to read one costs
    1.5-2 ms, a tenth of a small render, and photos come in few sizes."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._sizes: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[int, int] | None:
        with self._lock:
            size = self._sizes.get(key)
            if size is not None:
                self._sizes.move_to_end(key)
            return size

    def put(self, key: Hashable, size: tuple[int, int]) -> None:
        with self._lock:
            self._sizes[key] = size
            if len(self._sizes) > self._capacity:
                self._sizes.popitem(last=False)


_JPEG_SIZES = _Sizes(4096)


def _jpeg_size(
    source: bytes, info: ImageInfo, width: int, options: dict[str, Any]
) -> tuple[int, int]:
    """libvips' `thumbnail` size of a still JPEG (`_planned`'s), remembered."""
    key = (info.width, info.height, info.orientation, width, tuple(sorted(options.items())))
    size = _JPEG_SIZES.get(key)
    if size is None:
        planned = _planned(source, width, options)
        size = (int(planned.width), int(planned.height))
        _JPEG_SIZES.put(key, size)
    return size


def jpeg_shrink(ratio: float) -> int:
    """The decode scale for a result `ratio` times smaller than the source on its tighter side.

    1/8 keeps only each 8x8 block's average, which shows (a mean difference of 1-1.8 levels
    against a whole decode, twice that of 1/4): it is left to where libvips takes it too.
    """
    if ratio >= 16:
        return 8
    return 4 if ratio >= 4 else 2 if ratio >= 2 else 1


def _jpeg_thumbnail(
    source: bytes, info: ImageInfo, width: int, options: dict[str, Any]
) -> pyvips.Image:
    """libvips `thumbnail` of a JPEG, decoded at the smallest scale that covers the result
    (by TurboJPEG when it can: the same pixels, in less time than libvips' decoder)."""
    result = _jpeg_size(source, info, width, options)
    upright = info.upright_size(auto_orient=not options.get("no_rotate", False))
    ratio = min(upright[0] / result[0], upright[1] / result[1])
    shrink = jpeg_shrink(ratio)
    shrunk = decode_scaled(source, shrink)
    if shrunk is None:
        shrunk = pyvips.Image.new_from_buffer(
            source, LOAD_OPTIONS, shrink=shrink, access="sequential"
        )
    rest = {key: value for key, value in options.items() if key not in ("height", "size")}
    return shrunk.thumbnail_image(result[0], height=result[1], size="force", **rest)


def _planned(source: bytes, width: int, options: dict[str, Any]) -> pyvips.Image:
    """libvips' `thumbnail` of a still frame, set up from the header, nothing computed."""
    return pyvips.Image.thumbnail_buffer(source, width, option_string=LOAD_OPTIONS, **options)


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
