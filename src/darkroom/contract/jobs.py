"""The `/jobs` API of the reference job service: submissions and job status."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from darkroom.contract._base import Out

JobStatus = Literal["pending", "processing", "completed", "failed"]
Operation = Literal["resize", "thumbnail"]


class JobSubmitted(Out):
    """The answer to a job submission, as the reference job service gives it."""

    job_id: str
    status: JobStatus
    message: str


class JobOut(Out):
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
