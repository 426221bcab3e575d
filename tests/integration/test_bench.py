"""`python -m bench all --quick` runs every benchmark end to end, so that none of them rots.

In one process, one benchmark after another: run as a test each, side by side on the
suite's workers, they took more than twice the CPU (89 s against 38 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bench.__main__ import BENCHES

pytestmark = pytest.mark.slow  # every benchmark, small: about forty seconds in all

ROOT = Path(__file__).resolve().parents[2]


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bench all ...` from the checkout's root."""
    return subprocess.run(
        [sys.executable, "-m", "bench", "all", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    finished = run_bench("--quick", "--out", str(out))
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = out.read_text()
    assert report.startswith("# Benchmarks, latest run")
    for bench in BENCHES:
        assert f"## {bench.title}" in report, bench.title
    (pipeline,) = [line for line in report.splitlines() if line.startswith("| darkroom |")]
    assert pipeline.endswith("| 0 |"), pipeline  # every image of the burst done


def test_only_runs_the_named_benchmarks(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    finished = run_bench("--quick", "--only", "imaging,encoders", "--out", str(out))
    assert finished.returncode == 0, finished.stderr[-3000:]
    sections = [line for line in out.read_text().splitlines() if line.startswith("## ")]
    assert sections == ["## Imaging core vs bare libvips", "## Encoder efforts"]
    unknown = run_bench("--only", "nosuch", "--out", str(tmp_path / "x.md"))
    assert unknown.returncode == 2
    assert "no benchmark named nosuch" in unknown.stderr
