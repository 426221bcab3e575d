"""What admin keys manage: reference logos and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from darkroom.contract._base import Out, Page


class LogoOut(Out):
    """A reference logo the logos analysis looks for."""

    name: str
    mime_type: str = Field(description="Media type sniffed from the logo image's bytes.")
    bytes: int = Field(description="Size of the logo image.")
    width: int
    height: int
    sha256: str
    features: int = Field(description="Distinct features found in it: the more, the surer.")
    image_url: str = Field(description="Where the logo image can be downloaded.")
    created_at: datetime
    updated_at: datetime


class LogoPage(Page[LogoOut]):
    """Every logo, by name, on one page (`next_cursor` is always null)."""


class DeadLetterOut(Out):
    """Work that failed for good: what, why, after how many attempts, and whether replayed."""

    id: str
    kind: str
    image_id: str
    variant_id: str | None
    reason: str
    error_code: str
    attempts: int
    payload: dict[str, Any]
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterPage(Page[DeadLetterOut]):
    """A page of dead letters."""
