"""An image's document, as `GET /v1/images/{id}` answers and webhooks deliver it.

One model for both, so that a webhook's `data` is exactly what the API shows, field for
field; the events and purges of an image sit here too.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from darkroom.contract._base import Out, Page


class Status(StrEnum):
    """Processing state shared by images and their variants."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class VariantOut(Out):
    """One output of an image: its status, and once done its size, format and URL."""

    profile: str
    status: Status
    spec_hash: str = Field(description="Digest of the spec the variant is (being) made with.")
    width: int | None
    height: int | None
    bytes: int | None = Field(description="Size of the encoded variant.")
    format: str | None = Field(description="Encoded format, e.g. `webp`.")
    url: str = Field(description="Where to download the variant once done.")
    error: str | None = Field(description="Why the variant failed, if it did.")
    attempts: int
    updated_at: datetime


class ModelOut(Out):
    """The model behind an analysis result."""

    name: str
    version: str


class AnalysisOut(Out):
    """One analysis of an image: its status, and once done its result."""

    name: str = Field(description="The analysis: colors, faces, labels, logos, nsfw or ocr.")
    status: Status
    result: dict[str, Any] | None = Field(
        description="The analyzer's result once done; coordinates are in the upright "
        "original's pixels. Its shape per analysis is in docs/analyzers.md."
    )
    model: ModelOut | None = Field(description="The model that produced the result.")
    duration_ms: int | None = Field(description="Time the analysis took, once done.")
    url: str = Field(description="Where this analysis alone can be read.")
    error: str | None = Field(description="Why the analysis failed, if it did.")
    attempts: int
    updated_at: datetime


class ImageOut(Out):
    """An image with its metadata and variants."""

    id: str
    status: Status = Field(
        description="done once every variant and analysis is done; failed if one failed."
    )
    owner_id: str | None
    mime_type: str = Field(description="Media type sniffed from the original's bytes.")
    bytes: int = Field(description="Size of the original.")
    width: int = Field(description="Upright width of the original, in pixels.")
    height: int = Field(description="Upright height of the original, in pixels.")
    frames: int
    sha256: str
    error: str | None
    original_url: str
    callback_url: str | None
    variants: list[VariantOut] = Field(description="Sorted by profile name.")
    analyses: list[AnalysisOut] = Field(description="Sorted by analysis name.")
    created_at: datetime
    updated_at: datetime

    def variant(self, profile: str) -> VariantOut | None:
        """The variant of this profile, if the image has one."""
        return next((v for v in self.variants if v.profile == profile), None)

    def analysis(self, name: str) -> AnalysisOut | None:
        """The analysis of this name, if the image has one."""
        return next((a for a in self.analyses if a.name == name), None)


class ImagePage(Page[ImageOut]):
    """A page of images."""


EventKind = Literal["image.done", "image.failed", "cdn.purge"]


class EventOut(Out):
    """An outbox event of an image (a webhook or a CDN purge) and how its delivery went."""

    id: str
    kind: EventKind = Field(
        description="image.done or image.failed (webhooks), cdn.purge (a purge request)."
    )
    target: str | None = Field(
        description="Where it is delivered (callback_url or purge endpoint); null when it is "
        "only recorded."
    )
    attempts: int = Field(description="Delivery attempts so far.")
    delivered_at: datetime | None
    given_up_at: datetime | None = Field(
        description="When delivery stopped being retried, if it did."
    )
    next_attempt_at: datetime | None = Field(
        description="When the next attempt is due; null once delivered, given up, or never sent."
    )
    last_status: int | None = Field(description="HTTP status of the last attempt, if any.")
    last_error: str | None = Field(description="Why the last attempt failed, if it did.")
    created_at: datetime


class EventPage(Page[EventOut]):
    """Every event of an image, oldest first, on one page (`next_cursor` is always null)."""


class PurgeOut(Out):
    """How many CDN purge requests were queued for an image's URLs."""

    image_id: str
    purges_queued: int = Field(
        description="Purge requests queued: one per URL (HTTP PURGE), or one POST listing "
        "them all (purge endpoint)."
    )
