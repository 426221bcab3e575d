"""The public JSON document of an image, as the API answers and webhooks deliver it.

One model for both, so that a webhook's `data` is exactly what `GET /v1/images/{id}`
shows, field for field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from darkroom.service.dto import AnalysisRecord, ImageRecord, Status, VariantRecord


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class VariantOut(_Out):
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

    @classmethod
    def of(cls, image: ImageRecord, variant: VariantRecord) -> VariantOut:
        """The view of one variant of `image`."""
        return cls(
            profile=variant.profile,
            status=variant.status,
            spec_hash=variant.spec_hash,
            width=variant.width,
            height=variant.height,
            bytes=variant.file_size,
            format=variant.format,
            url=f"/v1/images/{image.id}/variants/{variant.profile}",
            error=variant.error_msg,
            attempts=variant.attempt_count,
            updated_at=variant.updated_at,
        )


class ModelOut(_Out):
    """The model behind an analysis result."""

    name: str
    version: str


class AnalysisOut(_Out):
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

    @classmethod
    def of(cls, image_id: str, analysis: AnalysisRecord) -> AnalysisOut:
        """The view of one analysis of an image."""
        model = None
        if analysis.model_name is not None and analysis.model_version is not None:
            model = ModelOut(name=analysis.model_name, version=analysis.model_version)
        return cls(
            name=analysis.analysis,
            status=analysis.status,
            result=analysis.result,
            model=model,
            duration_ms=analysis.duration_ms,
            url=f"/v1/images/{image_id}/analyses/{analysis.analysis}",
            error=analysis.error_msg,
            attempts=analysis.attempt_count,
            updated_at=analysis.updated_at,
        )


class ImageOut(_Out):
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

    @classmethod
    def of(cls, image: ImageRecord) -> ImageOut:
        """The view of an image record."""
        return cls(
            id=image.id,
            status=image.status,
            owner_id=image.owner_id,
            mime_type=image.mime_type,
            bytes=image.file_size,
            width=image.width,
            height=image.height,
            frames=image.frames,
            sha256=image.sha256,
            error=image.error,
            original_url=f"/v1/images/{image.id}/original",
            callback_url=image.callback_url,
            variants=[VariantOut.of(image, v) for v in image.variants],
            analyses=[AnalysisOut.of(image.id, a) for a in image.analyses],
            created_at=image.created_at,
            updated_at=image.updated_at,
        )


def image_document(image: ImageRecord) -> dict[str, Any]:
    """The image as JSON-ready data: what `GET /v1/images/{id}` answers."""
    return ImageOut.of(image).model_dump(mode="json")
