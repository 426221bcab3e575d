"""CPU cost of a render through the spec path next to a bare libvips call, in the same run.

Usage: python -m bench.imaging [--rounds 7] [--iterations 40]

The input is a 2000x1333 photo JPEG made from a corpus file; the output a 500x500 contain
JPEG at q80. Both paths run interleaved, round after round, and the median CPU time per
render (all threads, `time.process_time`) of each is reported with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pyvips

from darkroom.imaging import render

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
SPEC = {"width": 500, "height": 500, "fit": "contain", "format": "jpeg", "quality": 80}


def make_input() -> bytes:
    """A 2000x1333 baseline JPEG (q90) cut from the corpus' large photo."""
    photo = (CORPUS / "photo-flickr-2725x2225.jpg").read_bytes()
    image = pyvips.Image.thumbnail_buffer(photo, 2000, height=1333, crop="centre")
    return bytes(image.jpegsave_buffer(Q=90))


def bare(data: bytes) -> bytes:
    """What a hand-written libvips service would do: shrink-on-load thumbnail, then save."""
    image = pyvips.Image.thumbnail_buffer(data, 500, height=500)
    return bytes(image.jpegsave_buffer(Q=80, keep="none"))


def spec_path(data: bytes) -> bytes:
    """The same result through Darkroom's validated spec and pipeline."""
    return render(data, SPEC).data


def cpu_ms(call: Callable[[bytes], bytes], data: bytes, iterations: int) -> float:
    """Median-free mean CPU ms of `iterations` calls (one round)."""
    start = time.process_time()
    for _ in range(iterations):
        call(data)
    return (time.process_time() - start) * 1000 / iterations


def main() -> None:
    """Run the rounds and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=40)
    args = parser.parse_args()

    data = make_input()
    ours, theirs = spec_path(data), bare(data)
    check = pyvips.Image.new_from_buffer(ours, "")
    assert (check.width, check.height) == (500, 333)
    for call in (bare, spec_path):  # warm caches and thread pools
        cpu_ms(call, data, 5)
    results: dict[str, list[float]] = {"bare": [], "spec": []}
    for _ in range(args.rounds):
        results["bare"].append(cpu_ms(bare, data, args.iterations))
        results["spec"].append(cpu_ms(spec_path, data, args.iterations))
    bare_ms = statistics.median(results["bare"])
    spec_ms = statistics.median(results["spec"])
    print(
        f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, "
        f"input {len(data):,} bytes 2000x1333 JPEG -> 500x333 JPEG q80 "
        f"(outputs {len(ours):,} / {len(theirs):,} bytes)"
    )
    print("| path | CPU ms / render (median of rounds) | rounds |")
    print("|---|---:|---|")
    print(
        f"| bare `thumbnail_buffer` + `jpegsave_buffer` | {bare_ms:.2f} | "
        f"{', '.join(f'{v:.2f}' for v in results['bare'])} |"
    )
    print(
        f"| `darkroom.imaging.render` | {spec_ms:.2f} | "
        f"{', '.join(f'{v:.2f}' for v in results['spec'])} |"
    )
    print(f"\nspec path / bare = {spec_ms / bare_ms:.3f}")


if __name__ == "__main__":
    main()
