"""The allocator tuning applies on glibc and yields to a deployment's own MALLOC_ settings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from darkroom.runtime import allocator

PROBE = "from darkroom.runtime.allocator import tune_allocator; print(tune_allocator())"


def applied(env: dict[str, str]) -> str:
    # A fresh interpreter: mallopt changes the whole process it runs in.
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning is Linux-only")
def test_applied_on_glibc_unless_the_deployment_set_its_own() -> None:
    base = {"PATH": "/usr/bin:/bin"}
    assert applied(base) == "True"
    assert applied(base | {"MALLOC_TRIM_THRESHOLD_": "131072"}) == "False"
    assert applied(base | {"MALLOC_MMAP_THRESHOLD_": "131072"}) == "False"


def test_other_platforms_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.tune_allocator() is False
