"""Scaled JPEG decoding: Darkroom's decode scale against libvips' own, in quality and CPU.

Usage: python -m bench.jpeg_scale [--photos 8] [--repeat 5]

For distinct photos from `bench.pipeline` (3000x2000, and the same re-encoded at 2000x1333
q90) and several output widths, each resize is made three ways: from a whole decode (the
reference), by `darkroom.imaging.load.thumbnail` (the scale that covers the output) and by
libvips' `thumbnail` (a factor of two kept for its resize). Prints the decode scales, the
range over the photos of the mean absolute difference and PSNR of each against the
reference, and the median CPU ms of each (decode and resize, one thread). Darkroom decodes
through TurboJPEG (`darkroom.imaging._jpeg_turbo`); the last columns time the same scale
through libvips' own JPEG decoder and say whether the pixels are the same.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from unittest import mock

import pyvips

from bench.pipeline import make_photos
from darkroom.imaging import ImageInfo, load, probe

CASES = {3000: (800, 500, 300), 2000: (640, 500, 400)}


def libvips_jpeg_shrink(ratio: float) -> int:
    """The decode scale libvips' own `thumbnail` takes: a factor of two left for its resize."""
    return 8 if ratio >= 16 else 4 if ratio >= 8 else 2 if ratio >= 4 else 1


def _compare(image: pyvips.Image, reference: pyvips.Image) -> tuple[float, float]:
    difference = image.cast("float") - reference.cast("float")
    mse = (difference * difference).avg()
    return difference.abs().avg(), (math.inf if mse == 0 else 10 * math.log10(255**2 / mse))


def _cpu_ms(make: Callable[[], pyvips.Image], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        make().copy_memory()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def _span(values: list[float], digits: int) -> str:
    low, high = min(values), max(values)
    return "identical" if high == 0 or low == math.inf else f"{low:.{digits}f}-{high:.{digits}f}"


def _left_to_libvips(source: bytes, shrink: int) -> None:
    return None


def main() -> None:
    """Measure every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5, help="CPU timings per case")
    args = parser.parse_args()
    pyvips.cache_set_max(0)
    rows: dict[tuple[int, int], list[tuple[float, ...]]] = {}
    for photo in make_photos(args.photos):
        for width, outputs in CASES.items():
            data = photo
            if width != 3000:
                data = bytes(pyvips.Image.thumbnail_buffer(photo, width).jpegsave_buffer(Q=90))
            info = probe(data)
            whole = pyvips.Image.new_from_buffer(data, "").copy_memory()
            for output in outputs:
                reference = whole.thumbnail_image(output).copy_memory()

                def ours(
                    data: bytes = data, output: int = output, info: ImageInfo = info
                ) -> pyvips.Image:
                    return load.thumbnail(data, info, output, all_frames=False)

                def theirs(data: bytes = data, output: int = output) -> pyvips.Image:
                    return pyvips.Image.thumbnail_buffer(data, output)

                def by_libvips(
                    data: bytes = data, output: int = output, info: ImageInfo = info
                ) -> pyvips.Image:
                    with mock.patch.object(load, "decode_scaled", _left_to_libvips):
                        return load.thumbnail(data, info, output, all_frames=False)

                mine = ours().copy_memory()
                measured = (
                    *_compare(mine, reference),
                    *_compare(theirs().copy_memory(), reference),
                    _cpu_ms(ours, args.repeat),
                    _cpu_ms(theirs, args.repeat),
                    _cpu_ms(by_libvips, args.repeat),
                    float((by_libvips() - mine).abs().max() == 0),
                )
                rows.setdefault((width, output), []).append(measured)
    print(
        f"{args.photos} distinct photos; mean abs diff and PSNR (dB) against a whole decode "
        "resized by libvips `thumbnail_image`, ranges over the photos; CPU: median ms of "
        "decode and resize, one thread."
    )
    print()
    print(
        "| source | output | our scale | libvips' scale | ours: diff, PSNR | libvips': diff, PSNR "
        "| our CPU ms | libvips' CPU ms | our scale, libvips' decoder: CPU ms | same pixels |"
    )
    print("|---|---:|---:|---:|---|---|---:|---:|---:|---|")
    for (width, output), results in rows.items():
        ratio = width / output
        columns = list(zip(*results, strict=True))
        print(
            f"| {width}x{width * 2 // 3} | {output} px | 1/{load.jpeg_shrink(ratio)} "
            f"| 1/{libvips_jpeg_shrink(ratio)} "
            f"| {_span(list(columns[0]), 2)}, {_span(list(columns[1]), 1)} "
            f"| {_span(list(columns[2]), 2)}, {_span(list(columns[3]), 1)} "
            f"| {statistics.median(columns[4]):.1f} | {statistics.median(columns[5]):.1f} "
            f"| {statistics.median(columns[6]):.1f} "
            f"| {'yes' if all(columns[7]) else 'NO'} ({int(sum(columns[7]))}/{len(results)}) |"
        )


if __name__ == "__main__":
    main()
