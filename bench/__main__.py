"""Every benchmark in one run: `python -m bench all [--quick] [--out FILE] [--only a,b]`.

Each benchmark runs as its own process (`python -m bench.<name> ...`) one after the other,
and their Markdown goes into one file (default `docs/benchmarks-latest.md`) under a header
naming the machine and the versions, so that a run can be compared with the curated
figures and commentary of `docs/benchmarks.md`. `--quick` runs every benchmark small
enough for the test suite (under a minute): its figures only show that the benchmarks
still run, not what they would measure. The render benchmark needs `wrk` (Debian's
package) and is left out, saying so, when it is missing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyvips

import darkroom

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    title: str
    full: tuple[str, ...]
    quick: tuple[str, ...]
    needs: str | None = None
    """A program the benchmark drives, skipped (with a line saying so) when missing."""


BENCHES = (
    Bench("imaging", "Imaging core vs bare libvips", (), ("--rounds", "1", "--iterations", "3")),
    Bench("encoders", "Encoder efforts", (), ("--photos", "1", "--widths", "320")),
    Bench("jpeg_scale", "Scaled JPEG decoding", (), ("--photos", "1", "--repeat", "1")),
    Bench("codecs", "Codecs beside libvips' own", (), ("--photos", "1", "--repeat", "1")),
    Bench("pipeline", "Eager pipeline", (), ("--photos", "4", "--idle", "2", "--rounds", "1")),
    Bench(
        "cluster",
        "Eager pipeline on a cluster",
        (),
        ("--photos", "4", "--workers", "1"),
    ),
    Bench(
        "jobs",
        "The reference job service's scenario",
        (),
        ("--jobs", "6", "--workers", "1", "--rounds", "1"),
    ),
    Bench("large", "Large inputs", (), ("--concurrent", "2", "--input", "{tmp}/100mp.jpg")),
    Bench(
        "memory",
        "Memory after a burst",
        ("--modes", "after", "--uploads", "300", "--idle", "70"),
        ("--modes", "after", "--uploads", "12", "--idle", "2"),
    ),
    Bench(
        "analyzers",
        "Analyzers",
        (),
        ("--images", "2", "--warmup", "0", "--only", "colors,faces"),
    ),
    Bench(
        "compat",
        "thumbor URLs: thumbor 7.8 and Darkroom",
        (),
        ("--photos", "1", "--rounds", "1", "--urls", "6"),
    ),
    Bench(
        "render",
        "On-demand render vs bare pyvips and thumbor",
        (),
        ("--seconds", "2", "--rounds", "1", "--no-thumbor"),
        needs="wrk",
    ),
)


def header() -> str:
    """The machine and versions a run was made on."""
    return "\n".join(
        [
            "# Benchmarks, latest run",
            "",
            f"- When: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            f"- Python {platform.python_version()}, Darkroom {darkroom.__version__}, "
            f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
            "",
            "Curated figures and what they mean are in `docs/benchmarks.md`.",
        ]
    )


def run(bench: Bench, quick: bool, tmp: Path) -> str:
    """One benchmark's Markdown section (its output, or why it did not run).

    `{tmp}` in its arguments is a folder that goes when the run ends (generated inputs).
    """
    if bench.needs is not None and shutil.which(bench.needs) is None:
        return f"## {bench.title}\n\nNot run: `{bench.needs}` is not installed.\n"
    args = [arg.replace("{tmp}", str(tmp)) for arg in (bench.quick if quick else bench.full)]
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", f"bench.{bench.name}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    command = " ".join(["python -m", f"bench.{bench.name}", *args])
    if finished.returncode != 0:
        raise SystemExit(f"{command} failed:\n{finished.stderr[-4000:]}")
    return f"## {bench.title}\n\n`{command}` ({seconds:.0f} s)\n\n{finished.stdout.strip()}\n"


def main() -> None:
    """Run every benchmark and write the combined Markdown."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("what", choices=["all"])
    parser.add_argument("--quick", action="store_true", help="small runs, for the tests")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-latest.md")
    parser.add_argument(
        "--only",
        type=lambda names: names.split(","),
        default=[bench.name for bench in BENCHES],
        help="comma-separated benchmark names (default: every one)",
    )
    args = parser.parse_args()
    unknown = set(args.only) - {bench.name for bench in BENCHES}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    sections = [header()]
    with tempfile.TemporaryDirectory() as tmp:
        for bench in (bench for bench in BENCHES if bench.name in args.only):
            print(f"running bench.{bench.name} ...", file=sys.stderr)
            sections.append(run(bench, args.quick, Path(tmp)))
    args.out.write_text("\n\n".join(sections))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
