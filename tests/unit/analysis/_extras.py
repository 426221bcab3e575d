"""The policy for an analyzer whose extra is missing: skip locally, fail in CI.

Same rule as the backing services in tests/conftest.py: with `DARKROOM_REQUIRE_SERVICES=1`
(as in CI) a missing extra fails the module instead of skipping it, so a green CI run means
every analyzer really ran on its real model.
"""

from __future__ import annotations

import os

import pytest

from darkroom.analysis.model import installed


def need_extra(*modules: str) -> None:
    """Skip the calling test module unless every one of `modules` imports (fail in CI)."""
    missing = [module for module in modules if not installed(module)]
    if not missing:
        return
    reason = f"extra not installed: {', '.join(missing)}"
    if os.environ.get("DARKROOM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (required: DARKROOM_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
