"""Fixtures of the storage tests: a fresh local store on the real filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.storage import LocalStore


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    """An empty store rooted in a directory of its own."""
    return LocalStore(tmp_path / "objects")
