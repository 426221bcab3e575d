"""The JSON the API answers with, as pydantic models built from the service records.

Field names and values are the public contract (clients and tests read them); each model
says where it comes from with an `of` constructor, so routes stay one line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

# An image's document is the service's: webhooks deliver exactly what the API answers.
from darkroom.service.documents import AnalysisOut as AnalysisOut
from darkroom.service.documents import ImageOut as ImageOut
from darkroom.service.documents import VariantOut as VariantOut
from darkroom.service.dto import DeadLetterRecord, EventRecord, LogoRecord
from darkroom.service.health import Check
from darkroom.service.jobs import Job
from darkroom.service.profiles import ProfileView

T = TypeVar("T")


class _Out(BaseModel):
    # from_attributes: a model whose fields are a record's own is read straight from it.
    model_config = ConfigDict(frozen=True, from_attributes=True)


class ErrorDetail(_Out):
    """What went wrong: a stable code, a readable message, and structured details."""

    code: str = Field(description="Stable machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong and, where possible, how to fix it.")
    details: Any = Field(description="Structured details (field problems, limits), or null.")


class ErrorBody(_Out):
    """Every error answer: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


class Page(_Out, Generic[T]):
    """One page of a list, newest first, with the cursor of the next page (null at the end)."""

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ImagePage(Page[ImageOut]):
    """A page of images."""


EventKind = Literal["image.done", "image.failed", "cdn.purge"]


class EventOut(_Out):
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

    @classmethod
    def of(cls, event: EventRecord) -> EventOut:
        """The view of an outbox event."""
        return cls.model_validate(event)


class EventPage(Page[EventOut]):
    """Every event of an image, oldest first, on one page (`next_cursor` is always null)."""


class PurgeOut(_Out):
    """How many CDN purge requests were queued for an image's URLs."""

    image_id: str
    purges_queued: int = Field(
        description="Purge requests queued: one per URL (HTTP PURGE), or one POST listing "
        "them all (purge endpoint)."
    )


class ProfileOut(_Out):
    """A profile with its canonical spec, hash and version."""

    name: str
    spec: dict[str, Any] = Field(
        description="The canonical spec: the TransformSpec fields that differ from defaults."
    )
    spec_hash: str
    version: int = Field(description="Goes up when a PUT changes the spec's meaning.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, profile: ProfileView) -> ProfileOut:
        """The view of a profile."""
        return cls.model_validate(profile)


class ProfilePage(Page[ProfileOut]):
    """Every profile, by name, on one page (`next_cursor` is always null)."""


class LogoOut(_Out):
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

    @classmethod
    def of(cls, logo: LogoRecord) -> LogoOut:
        """The view of a logo record."""
        return cls(
            name=logo.name,
            mime_type=logo.mime_type,
            bytes=logo.file_size,
            width=logo.width,
            height=logo.height,
            sha256=logo.sha256,
            features=logo.features,
            image_url=f"/v1/logos/{logo.name}/image",
            created_at=logo.created_at,
            updated_at=logo.updated_at,
        )


class LogoPage(Page[LogoOut]):
    """Every logo, by name, on one page (`next_cursor` is always null)."""


class BackfillOut(_Out):
    """How many existing images a backfill queued the profile for (added or rendered again)."""

    profile: str
    images_queued: int


class DeadLetterOut(_Out):
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
    def of(cls, letter: DeadLetterRecord) -> DeadLetterOut:
        """The view of a dead letter."""
        return cls.model_validate(letter)


class DeadLetterPage(Page[DeadLetterOut]):
    """A page of dead letters."""


JobStatus = Literal["pending", "processing", "completed", "failed"]
Operation = Literal["resize", "thumbnail"]


class JobSubmitted(_Out):
    """The answer to a job submission, as the reference job service gives it."""

    job_id: str
    status: JobStatus
    message: str

    @classmethod
    def of(cls, job: Job) -> JobSubmitted:
        """The answer for a just-submitted job."""
        status = cast(JobStatus, job.status)
        return cls(job_id=job.image.id, status=status, message="Image processing job submitted")


class JobOut(_Out):
    """A job's status and storage paths."""

    id: str
    status: JobStatus
    operation: Operation
    width: int | None
    height: int | None
    input_path: str
    output_path: str = Field(description="Empty until the job is completed.")
    error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        """The view of a job."""
        spec = job.variant.spec
        return cls(
            id=job.image.id,
            status=cast(JobStatus, job.status),
            operation=cast(Operation, job.operation),
            width=spec.get("width"),
            height=spec.get("height"),
            input_path=job.image.original_key,
            output_path=job.variant.output_key or "",
            error=job.variant.error_msg,
            created_at=job.image.created_at,
            updated_at=job.variant.updated_at,
        )


class HealthOut(_Out):
    """The process is up."""

    status: Literal["ok"] = "ok"


class CheckOut(_Out):
    """One dependency's answer; `error` only when it failed."""

    ok: bool
    error: str | None = None

    @classmethod
    def of(cls, check: Check) -> CheckOut:
        """The view of a readiness check."""
        return cls(ok=check.ok, error=check.error or None)


class ReadyOut(_Out):
    """Whether the database, storage and broker answer."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckOut] = Field(description="By dependency: database, storage, broker.")

    @classmethod
    def of(cls, checks: dict[str, Check]) -> ReadyOut:
        """The readiness answer for these checks."""
        healthy = all(c.ok for c in checks.values())
        return cls(
            status="ready" if healthy else "unavailable",
            checks={name: CheckOut.of(c) for name, c in checks.items()},
        )

    @property
    def healthy(self) -> bool:
        """Whether every dependency answered."""
        return self.status == "ready"
