"""The public JSON document of an image, built from its record.

One model (`darkroom.contract.ImageOut`) for the API and webhooks, so that a webhook's
`data` is exactly what `GET /v1/images/{id}` shows, field for field.
"""

from __future__ import annotations

from typing import Any

from darkroom.contract import AnalysisOut, ImageOut, ModelOut, VariantOut
from darkroom.service.dto import AnalysisRecord, ImageRecord, VariantRecord


def variant_out(image: ImageRecord, variant: VariantRecord) -> VariantOut:
    """The view of one variant of `image`."""
    return VariantOut(
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


def analysis_out(image_id: str, analysis: AnalysisRecord) -> AnalysisOut:
    """The view of one analysis of an image."""
    model = None
    if analysis.model_name is not None and analysis.model_version is not None:
        model = ModelOut(name=analysis.model_name, version=analysis.model_version)
    return AnalysisOut(
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


def image_out(image: ImageRecord) -> ImageOut:
    """The view of an image record."""
    return ImageOut(
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
        variants=[variant_out(image, v) for v in image.variants],
        analyses=[analysis_out(image.id, a) for a in image.analyses],
        created_at=image.created_at,
        updated_at=image.updated_at,
    )


def image_document(image: ImageRecord) -> dict[str, Any]:
    """The image as JSON-ready data: what `GET /v1/images/{id}` answers."""
    return image_out(image).model_dump(mode="json")
