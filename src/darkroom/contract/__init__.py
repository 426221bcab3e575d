"""The API's wire models: what Darkroom answers, as pydantic models.

Pure (pydantic and the standard library only), so the server answers with them and the
client reads its answers with the very same classes. The server builds them from its
records (`darkroom.service.documents`, `darkroom.api.schemas`); nothing here knows of it.
"""

from __future__ import annotations

from darkroom.contract._base import ErrorBody, ErrorDetail, Out, Page
from darkroom.contract.admin import DeadLetterOut, DeadLetterPage, LogoOut, LogoPage
from darkroom.contract.health import CheckOut, HealthOut, ReadyOut
from darkroom.contract.images import (
    AnalysisOut,
    EventKind,
    EventOut,
    EventPage,
    ImageOut,
    ImagePage,
    ModelOut,
    PurgeOut,
    Status,
    VariantOut,
)
from darkroom.contract.jobs import JobOut, JobStatus, JobSubmitted, Operation
from darkroom.contract.profiles import BackfillOut, ProfileOut, ProfilePage

__all__ = [
    "AnalysisOut",
    "BackfillOut",
    "CheckOut",
    "DeadLetterOut",
    "DeadLetterPage",
    "ErrorBody",
    "ErrorDetail",
    "EventKind",
    "EventOut",
    "EventPage",
    "HealthOut",
    "ImageOut",
    "ImagePage",
    "JobOut",
    "JobStatus",
    "JobSubmitted",
    "LogoOut",
    "LogoPage",
    "ModelOut",
    "Operation",
    "Out",
    "Page",
    "ProfileOut",
    "ProfilePage",
    "PurgeOut",
    "ReadyOut",
    "Status",
    "VariantOut",
]
