"""Profiles: named transformation specs, and the backfill of one over existing images."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from darkroom.contract._base import Out, Page


class ProfileOut(Out):
    """A profile with its canonical spec, hash and version."""

    name: str
    spec: dict[str, Any] = Field(
        description="The canonical spec: the TransformSpec fields that differ from defaults."
    )
    spec_hash: str
    version: int = Field(description="Goes up when a PUT changes the spec's meaning.")
    created_at: datetime
    updated_at: datetime


class ProfilePage(Page[ProfileOut]):
    """Every profile, by name, on one page (`next_cursor` is always null)."""


class BackfillOut(Out):
    """How many existing images a backfill queued the profile for (added or rendered again)."""

    profile: str
    images_queued: int
