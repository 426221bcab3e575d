"""What the use-cases hand out: plain, immutable records, never ORM rows.

A record is read in full inside the use-case's transaction, so adapters can use it after
the session is closed, and nothing above the service layer imports the database schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from darkroom.db.schema import (
    DeadLetter,
    Event,
    Image,
    ImageAnalysis,
    ImageVariant,
    Logo,
    Status,
)

__all__ = [
    "AnalysisRecord",
    "DeadLetterRecord",
    "EventRecord",
    "ImageRecord",
    "LogoRecord",
    "Page",
    "Status",
    "VariantRecord",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, newest first, and the cursor of the next page (None at the end)."""

    items: Sequence[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class VariantRecord:
    """One output of an image: its profile's spec, status, and once done its file."""

    id: str
    image_id: str
    profile: str
    spec: dict[str, Any]
    spec_hash: str
    status: Status
    output_key: str | None
    width: int | None
    height: int | None
    file_size: int | None
    format: str | None
    error_msg: str | None
    attempt_count: int
    updated_at: datetime

    @classmethod
    def of(cls, row: ImageVariant) -> VariantRecord:
        """The record of a variant row."""
        return cls(
            id=row.id,
            image_id=row.image_id,
            profile=row.profile,
            spec=dict(row.spec),
            spec_hash=row.spec_hash,
            status=row.status,
            output_key=row.output_key,
            width=row.width,
            height=row.height,
            file_size=row.file_size,
            format=row.format,
            error_msg=row.error_msg,
            attempt_count=row.attempt_count,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class AnalysisRecord:
    """One analysis of an image: its status, and once done its result and model."""

    id: str
    image_id: str
    analysis: str
    status: Status
    result: dict[str, Any] | None
    model_name: str | None
    model_version: str | None
    duration_ms: int | None
    error_msg: str | None
    attempt_count: int
    updated_at: datetime

    @classmethod
    def of(cls, row: ImageAnalysis) -> AnalysisRecord:
        """The record of an analysis row."""
        return cls(
            id=row.id,
            image_id=row.image_id,
            analysis=row.analysis,
            status=row.status,
            result=None if row.result is None else dict(row.result),
            model_name=row.model_name,
            model_version=row.model_version,
            duration_ms=row.duration_ms,
            error_msg=row.error_msg,
            attempt_count=row.attempt_count,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """An accepted image: its original's facts, its status and its variants by profile."""

    id: str
    owner_id: str | None
    original_key: str
    sha256: str
    mime_type: str
    file_size: int
    width: int
    height: int
    frames: int
    has_alpha: bool
    status: Status
    error: str | None
    callback_url: str | None
    created_at: datetime
    updated_at: datetime
    variants: tuple[VariantRecord, ...]
    """Sorted by profile name."""
    analyses: tuple[AnalysisRecord, ...]
    """Sorted by analysis name."""

    @classmethod
    def of(cls, row: Image) -> ImageRecord:
        """The record of an image row, whose variants must be loaded."""
        return cls(
            id=row.id,
            owner_id=row.owner_id,
            original_key=row.original_key,
            sha256=row.sha256,
            mime_type=row.mime_type,
            file_size=row.file_size,
            width=row.width,
            height=row.height,
            frames=row.frames,
            has_alpha=row.has_alpha,
            status=row.status,
            error=row.error,
            callback_url=row.callback_url,
            created_at=row.created_at,
            updated_at=row.updated_at,
            variants=tuple(
                VariantRecord.of(v) for v in sorted(row.variants, key=lambda v: v.profile)
            ),
            analyses=tuple(
                AnalysisRecord.of(a) for a in sorted(row.analyses, key=lambda a: a.analysis)
            ),
        )

    def variant(self, profile: str) -> VariantRecord | None:
        """The variant of this profile, if the image has one."""
        return next((v for v in self.variants if v.profile == profile), None)

    def analysis(self, name: str) -> AnalysisRecord | None:
        """The analysis of this name, if the image has one."""
        return next((a for a in self.analyses if a.analysis == name), None)


@dataclass(frozen=True, slots=True)
class LogoRecord:
    """A reference logo: its name, its image's facts, and how many features it has."""

    name: str
    image_key: str
    sha256: str
    mime_type: str
    file_size: int
    width: int
    height: int
    features: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Logo) -> LogoRecord:
        """The record of a logo row."""
        return cls(
            name=row.name,
            image_key=row.image_key,
            sha256=row.sha256,
            mime_type=row.mime_type,
            file_size=row.file_size,
            width=row.width,
            height=row.height,
            features=row.features,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
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

    @classmethod
    def of(cls, row: DeadLetter) -> DeadLetterRecord:
        """The record of a dead-letter row."""
        return cls(
            id=row.id,
            kind=row.kind,
            image_id=row.image_id,
            variant_id=row.variant_id,
            reason=row.reason,
            error_code=row.error_code,
            attempts=row.attempts,
            payload=dict(row.payload),
            created_at=row.created_at,
            replayed_at=row.replayed_at,
        )


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An outbox event of an image, and how its delivery went so far."""

    id: str
    kind: str
    image_id: str
    target: str | None
    """Where it is delivered (a callback_url); None when it is only recorded."""
    attempts: int
    delivered_at: datetime | None
    given_up_at: datetime | None
    next_attempt_at: datetime | None
    """When the next attempt is due; None once delivered, given up, or never to be sent."""
    last_status: int | None
    last_error: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Event) -> EventRecord:
        """The record of an event row."""
        pending = row.target is not None and row.delivered_at is None and row.given_up_at is None
        return cls(
            id=row.id,
            kind=row.kind,
            image_id=row.image_id,
            target=row.target,
            attempts=row.attempts,
            delivered_at=row.delivered_at,
            given_up_at=row.given_up_at,
            next_attempt_at=row.next_attempt_at if pending else None,
            last_status=row.last_status,
            last_error=row.last_error,
            created_at=row.created_at,
        )
