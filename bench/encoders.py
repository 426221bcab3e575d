"""Encoder efforts: time and bytes of AVIF and WebP at each effort, beside JPEG, at matched SSIM.

Usage: python -m bench.encoders [--photos 4] [--widths 800,1600]

Inputs: distinct 3000x2000 photos made as `bench.pipeline` makes them, shrunk to each
width once; each encoder then runs on the same in-memory image (median wall time of the
photos, one thread), and its output is decoded again to compute SSIM against the input
(luminance, 8x8 windows: enough to tell whether two settings look alike, not a
perceptual-quality verdict). Prints Markdown. Needs numpy (any analyzer extra brings it).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import pyvips

from bench.pipeline import make_photos

Encoder = Callable[[pyvips.Image], bytes]


def ssim(a: pyvips.Image, b: pyvips.Image) -> float:
    """Mean SSIM of the two images' luminance over 8x8 windows."""
    import numpy as np

    def luma(image: pyvips.Image) -> Any:
        grey = image.colourspace("b-w").extract_band(0).cast("float")
        return np.ndarray(
            buffer=grey.write_to_memory(), dtype=np.float32, shape=(grey.height, grey.width)
        )

    x, y = luma(a), luma(b)
    k = 8
    h, w = (x.shape[0] // k) * k, (x.shape[1] // k) * k
    x = x[:h, :w].reshape(h // k, k, w // k, k)
    y = y[:h, :w].reshape(h // k, k, w // k, k)
    mx, my = x.mean((1, 3)), y.mean((1, 3))
    vx, vy = x.var((1, 3)), y.var((1, 3))
    cxy = ((x - mx[:, None, :, None]) * (y - my[:, None, :, None])).mean((1, 3))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    index = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(index.mean())


def _webp(effort: int) -> Encoder:
    return lambda image: bytes(image.webpsave_buffer(Q=80, effort=effort, keep="none"))


def _avif(effort: int) -> Encoder:
    return lambda image: bytes(
        image.heifsave_buffer(Q=60, compression="av1", effort=effort, keep="none")
    )


def encoders() -> list[tuple[str, Encoder]]:
    """Every setting measured: JPEG for scale, WebP and AVIF at each effort."""
    found: list[tuple[str, Encoder]] = [
        ("JPEG q80", lambda image: bytes(image.jpegsave_buffer(Q=80, keep="none")))
    ]
    found += [(f"WebP q80 effort {e}", _webp(e)) for e in (0, 1, 2, 3, 4, 6)]
    found += [(f"AVIF q60 effort {e}", _avif(e)) for e in (0, 1, 2, 4, 6)]
    return found


def main() -> None:
    """Measure every encoder at every width and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--widths", default="800,1600")
    args = parser.parse_args()
    photos = make_photos(args.photos)
    print("| width | encoder | ms (median) | KiB (mean) | SSIM (mean) |")
    print("|---:|---|---:|---:|---:|")
    for width in (int(w) for w in args.widths.split(",")):
        images = [pyvips.Image.thumbnail_buffer(data, width).copy_memory() for data in photos]
        for name, encode in encoders():
            times, sizes, scores = [], [], []
            for image in images:
                started = time.perf_counter()
                data = encode(image)
                times.append(time.perf_counter() - started)
                sizes.append(len(data))
                scores.append(ssim(image, pyvips.Image.new_from_buffer(data, "")))
            print(
                f"| {width} | {name} | {statistics.median(times) * 1000:.1f} "
                f"| {statistics.mean(sizes) / 1024:.1f} | {statistics.mean(scores):.4f} |"
            )


if __name__ == "__main__":
    main()
