"""The API's answers built from the service records: one function per answer model.

The models themselves are the pure wire contract in `darkroom.contract`, shared with the
client; only this side knows the records they are made from, so routes stay one line.
"""

from __future__ import annotations

from typing import cast

from darkroom.contract import (
    CheckOut,
    DeadLetterOut,
    EventOut,
    JobOut,
    JobStatus,
    JobSubmitted,
    LogoOut,
    Operation,
    ProfileOut,
    ReadyOut,
)
from darkroom.service.documents import analysis_out as analysis_out
from darkroom.service.documents import image_out as image_out
from darkroom.service.dto import DeadLetterRecord, EventRecord, LogoRecord
from darkroom.service.health import Check
from darkroom.service.jobs import Job
from darkroom.service.profiles import ProfileView


def event_out(event: EventRecord) -> EventOut:
    """The view of an outbox event."""
    return EventOut.model_validate(event)


def profile_out(profile: ProfileView) -> ProfileOut:
    """The view of a profile."""
    return ProfileOut.model_validate(profile)


def logo_out(logo: LogoRecord) -> LogoOut:
    """The view of a logo record."""
    return LogoOut(
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


def dead_letter_out(letter: DeadLetterRecord) -> DeadLetterOut:
    """The view of a dead letter."""
    return DeadLetterOut.model_validate(letter)


def job_submitted(job: Job) -> JobSubmitted:
    """The answer for a just-submitted job."""
    status = cast(JobStatus, job.status)
    return JobSubmitted(
        job_id=job.image.id, status=status, message="Image processing job submitted"
    )


def job_out(job: Job) -> JobOut:
    """The view of a job."""
    spec = job.variant.spec
    return JobOut(
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


def check_out(check: Check) -> CheckOut:
    """The view of a readiness check."""
    return CheckOut(ok=check.ok, error=check.error or None)


def ready_out(checks: dict[str, Check]) -> ReadyOut:
    """The readiness answer for these checks."""
    healthy = all(c.ok for c in checks.values())
    return ReadyOut(
        status="ready" if healthy else "unavailable",
        checks={name: check_out(c) for name, c in checks.items()},
    )
