"""Darkroom's codecs beside libvips' own: TurboJPEG decodes and Pillow's lossy WebP encodes.

Usage: python -m bench.codecs [--photos 6] [--repeat 5]

Inputs: distinct 3000x2000 photos made as `bench.pipeline` makes them. Decodes: each photo
at 1/1, 1/2 and 1/8 through libvips' `jpegload` (`fail_on=warning`, every pixel computed)
and through `darkroom.imaging._jpeg_turbo` (TurboJPEG, strict). Encodes: each photo resized
to 800 and 300 px wide, as a lossy WebP (q80, effort 4, no metadata) through libvips'
`webpsave` and through `darkroom.imaging._webp_pillow`. CPU is the median ms of one
thread; the last column says whether the two gave the same pixels (decodes) or the same
bytes (encodes) for every photo. Prints Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pyvips

from bench.pipeline import make_photos
from darkroom.imaging import _jpeg_turbo, _webp_pillow


def _cpu_ms(make: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        make()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def _libvips_decode(data: bytes, shrink: int) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "fail_on=warning", shrink=shrink).copy_memory()


def _turbo_decode(data: bytes, shrink: int) -> pyvips.Image:
    image = _jpeg_turbo.decode_scaled(data, shrink)
    assert image is not None, "TurboJPEG left a benchmark photo to libvips"
    return image


Row = tuple[str, float, float, bool]


def decodes(photos: list[bytes], repeat: int) -> list[Row]:
    """Per scale: libvips' CPU, TurboJPEG's, and whether every photo's pixels were equal."""
    rows = []
    for shrink in (1, 2, 8):
        ours, theirs, same = [], [], True
        for data in photos:
            theirs.append(_cpu_ms(partial(_libvips_decode, data, shrink), repeat))
            ours.append(_cpu_ms(partial(_turbo_decode, data, shrink), repeat))
            difference = _turbo_decode(data, shrink) - _libvips_decode(data, shrink)
            same = same and difference.abs().max() == 0
        label = f"3000x2000 JPEG q90, decode at 1/{shrink}"
        rows.append((label, statistics.median(theirs), statistics.median(ours), same))
    return rows


def encodes(photos: list[bytes], repeat: int) -> list[Row]:
    """Per width: libvips' CPU, Pillow's, and whether every photo's bytes were equal."""
    rows = []
    for width in (800, 300):
        ours, theirs, same = [], [], True
        for data in photos:
            image = pyvips.Image.thumbnail_buffer(data, width).copy_memory()

            def libvips(image: pyvips.Image = image) -> bytes:
                return bytes(image.webpsave_buffer(Q=80, effort=4, keep="none"))

            def pillow(image: pyvips.Image = image) -> bytes:
                return _webp_pillow.encode(image, 80, 4)

            theirs.append(_cpu_ms(libvips, repeat))
            ours.append(_cpu_ms(pillow, repeat))
            same = same and libvips() == pillow()
        label = f"{width} px photo, lossy WebP q80 effort 4"
        rows.append((label, statistics.median(theirs), statistics.median(ours), same))
    return rows


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5, help="CPU timings per photo")
    args = parser.parse_args()
    pyvips.cache_set_max(0)
    photos = make_photos(args.photos)
    rows = decodes(photos, args.repeat) + encodes(photos, args.repeat)
    print(
        f"{args.photos} distinct photos; median CPU ms of one thread; libvips "
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    )
    print()
    print("| work | libvips CPU ms | Darkroom's codec CPU ms | ratio | same output |")
    print("|---|---:|---:|---:|---|")
    for label, theirs, ours, same in rows:
        verdict = f"yes ({args.photos}/{args.photos})" if same else "NO"
        print(f"| {label} | {theirs:.1f} | {ours:.1f} | {ours / theirs:.2f} | {verdict} |")


if __name__ == "__main__":
    main()
