"""Memory of large inputs: a 100 MP JPEG made into an 800 px variant, one and eight at once.

Usage: python -m bench.large [--concurrent 8]

The input is a 10000x10000 photo-like JPEG (q90, a corpus photo enlarged with noise added,
so that it compresses like a real camera file). A fresh process renders it through the
imaging core to the `webp_800` profile, alone and then `--concurrent` at once on as many
threads (as a worker with that many threads would), after one warm-up render of a small
image. Peak (VmHWM) and settled (VmRSS) resident memory above the process's baseline are
read from /proc/self/status. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyvips

from darkroom.imaging import render

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
SPEC = {"width": 800, "fit": "contain", "format": "webp"}
MiB = 1024 * 1024


def make_input(path: Path) -> None:
    """A 10000x10000 JPEG with photo-like content and noise (a real camera file's size)."""
    photo = pyvips.Image.thumbnail(str(CORPUS / "photo-flickr-2725x2225.jpg"), 2500)
    big = photo.resize(10000 / photo.width, vscale=10000 / photo.height)
    noise = pyvips.Image.gaussnoise(big.width, big.height, sigma=12, mean=0)
    noisy = (big + noise).cast("uchar")
    noisy.jpegsave(str(path), Q=90)


def status(field: str) -> int:
    """A /proc/self/status field, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def measure(path: Path, concurrent: int) -> dict[str, float]:
    """Run in a fresh process: render `concurrent` at once; memory above the baseline."""
    pyvips.cache_set_max(0)
    render(pyvips.Image.black(64, 64).jpegsave_buffer(), {"width": 32})  # libvips up
    data = path.read_bytes()
    baseline = status("VmRSS")
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        results = list(pool.map(lambda _: render(data, SPEC), range(concurrent)))
    seconds = time.perf_counter() - started
    assert all(result.width == 800 for result in results)
    return {
        "input_mb": len(data) / 1e6,
        "peak_mib": (status("VmHWM") - baseline) / MiB,
        "settled_mib": (status("VmRSS") - baseline) / MiB,
        "seconds": seconds,
    }


def main() -> None:
    """Measure alone and concurrently, each in a fresh process, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrent", type=int, default=8)
    parser.add_argument("--measure", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, default=Path("/tmp/darkroom-bench-100mp.jpg"))
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.input, args.measure)))
        return
    if not args.input.exists():
        make_input(args.input)
    print("| renders at once | input | peak above baseline | settled above baseline | wall s |")
    print("|---:|---:|---:|---:|---:|")
    for count in (1, args.concurrent):
        command = ["-m", "bench.large", "--measure", str(count), "--input", str(args.input)]
        out = subprocess.run(
            [sys.executable, *command],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        row = json.loads(out)
        print(
            f"| {count} | {row['input_mb']:.1f} MB | {row['peak_mib']:.0f} MiB "
            f"| {row['settled_mib']:.0f} MiB | {row['seconds']:.2f} |"
        )


if __name__ == "__main__":
    main()
