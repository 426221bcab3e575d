"""The job API of the reference service: a job is an image with one ad-hoc variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from darkroom.errors import InvalidRequest, NotFound
from darkroom.imaging import TransformSpec
from darkroom.service import images
from darkroom.service.context import Context
from darkroom.service.dto import ImageRecord, Status, VariantRecord

OPERATIONS: dict[str, dict[str, Any]] = {
    "resize": {"fit": "fill", "enlarge": True},
    "thumbnail": {"fit": "contain"},
}
"""`resize` gives exactly width x height (aspect ignored); `thumbnail` fits inside it."""
OUTPUT_FORMATS = ("jpeg", "png")
JOB_STATUS = {
    Status.PENDING: "pending",
    Status.PROCESSING: "processing",
    Status.DONE: "completed",
    Status.FAILED: "failed",
}
_PROFILE_PREFIX = "job_"


@dataclass(frozen=True)
class Job:
    """A job as the reference API describes it."""

    image: ImageRecord
    variant: VariantRecord

    @property
    def operation(self) -> str:
        """`resize` or `thumbnail`."""
        return self.variant.profile.removeprefix(_PROFILE_PREFIX)

    @property
    def status(self) -> str:
        """pending, processing, completed or failed."""
        return JOB_STATUS[self.variant.status]


def submit(
    ctx: Context,
    data: bytes,
    *,
    operation: str,
    width: int | None,
    height: int | None,
    output_format: str | None,
    owner: str | None = None,
) -> Job:
    """Start a job; the output keeps the input's format unless jpeg or png is asked for."""
    if operation not in OPERATIONS:
        raise InvalidRequest(f"Unknown operation {operation!r}: use resize or thumbnail.")
    if output_format is not None and output_format.lower() not in OUTPUT_FORMATS:
        raise InvalidRequest(f"Unsupported output_format {output_format!r}: use jpeg or png.")
    spec = TransformSpec.coerce(
        {"width": width, "height": height, "format": output_format or "original"}
        | OPERATIONS[operation]
    )
    accepted = images.create(
        ctx, data, {_PROFILE_PREFIX + operation: spec}, images.Upload(owner_id=owner)
    )
    return _job(accepted.image)


def get(ctx: Context, job_id: str, *, owner: str | None = None) -> Job:
    """A job by id; NotFound for unknown ids and for images that are not jobs."""
    return _job(images.get(ctx, job_id, owner=owner))


def output(ctx: Context, job_id: str, *, owner: str | None = None) -> tuple[Job, bytes]:
    """A completed job's result bytes; NotFound, saying the status, before that."""
    job = get(ctx, job_id, owner=owner)
    image, variant, data = images.variant(ctx, job.image.id, job.variant.profile, owner=owner)
    return Job(image, variant), data


def _job(image: ImageRecord) -> Job:
    for variant in image.variants:
        if variant.profile.startswith(_PROFILE_PREFIX):
            return Job(image, variant)
    raise NotFound(f"Job {image.id} not found.")
