"""`python -m bench all --quick` runs every benchmark end to end, so that none of them rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every benchmark, small: about half a minute

ROOT = Path(__file__).resolve().parents[2]


def test_every_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "latest.md"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = out.read_text()
    assert report.startswith("# Benchmarks, latest run")
    for title in (
        "## Imaging core vs bare libvips",
        "## Encoder efforts",
        "## Eager pipeline",
        "## Eager pipeline on a cluster",
        "## The reference job service's scenario",
        "## Large inputs",
        "## Memory after a burst",
        "## Analyzers",
        "## thumbor URLs: thumbor 7.8 and Darkroom",
        "## On-demand render vs bare pyvips and thumbor",
    ):
        assert title in report, title
    (pipeline,) = [line for line in report.splitlines() if line.startswith("| darkroom |")]
    assert pipeline.endswith("| 0 |"), pipeline  # every image of the burst done
