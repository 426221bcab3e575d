"""`pip install darkroom-images` (no extras) resolves to the client alone: httpx and pydantic.

pip resolves this checkout's metadata against the package index without installing
anything; the resolved set must hold the client's dependencies and none of the server's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import service_unavailable

pytestmark = pytest.mark.slow  # builds the metadata and asks the package index

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"pyvips", "fastapi", "sqlalchemy", "dramatiq", "uvicorn", "alembic", "typer"}


def _project_without_code(target: Path) -> Path:
    # The metadata needs only these; copying them keeps build files out of the checkout.
    (target / "src" / "darkroom").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "src/darkroom/__init__.py"):
        shutil.copyfile(ROOT / name, target / name)
    return target


def resolve(project: Path, report: Path, extras: str = "") -> set[str]:
    """The names of every distribution pip would install for `project[extras]`."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            f"{project}{extras}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        if "connection" in done.stderr.lower() or "network" in done.stderr.lower():
            service_unavailable(f"the package index is not reachable: {done.stderr[-300:]}")
        raise AssertionError(done.stderr)
    installs = json.loads(report.read_text())["install"]
    return {item["metadata"]["name"].lower() for item in installs}


def test_the_plain_install_is_the_client_alone(tmp_path: Path) -> None:
    project = _project_without_code(tmp_path / "project")
    names = resolve(project, tmp_path / "report.json")
    assert {"darkroom-images", "httpx", "pydantic"} <= names
    assert names.isdisjoint(SERVER_ONLY), names & SERVER_ONLY
    assert len(names) < 20, sorted(names)  # httpx, pydantic and their few dependencies
