"""JSON views of stored objects, as the API returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from darkroom.imaging.formats import TRAITS, ImageFormat
from darkroom.service.dto import DeadLetterRecord, ImageRecord, VariantRecord
from darkroom.service.profiles import ProfileView


def isotime(value: datetime) -> str:
    """A UTC timestamp in ISO 8601 with a Z."""
    return value.isoformat().replace("+00:00", "Z")


def variant_view(image: ImageRecord, variant: VariantRecord) -> dict[str, Any]:
    """One variant: its status, and once done its size, format and download URL."""
    return {
        "profile": variant.profile,
        "status": variant.status.value,
        "spec_hash": variant.spec_hash,
        "width": variant.width,
        "height": variant.height,
        "bytes": variant.file_size,
        "format": variant.format,
        "url": f"/v1/images/{image.id}/variants/{variant.profile}",
        "error": variant.error_msg,
        "attempts": variant.attempt_count,
        "updated_at": isotime(variant.updated_at),
    }


def image_view(image: ImageRecord) -> dict[str, Any]:
    """An image with its metadata and variants."""
    return {
        "id": image.id,
        "status": image.status.value,
        "owner_id": image.owner_id,
        "mime_type": image.mime_type,
        "bytes": image.file_size,
        "width": image.width,
        "height": image.height,
        "frames": image.frames,
        "sha256": image.sha256,
        "error": image.error,
        "original_url": f"/v1/images/{image.id}/original",
        "callback_url": image.callback_url,
        "variants": [variant_view(image, v) for v in image.variants],
        "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at),
    }


def profile_view(profile: ProfileView) -> dict[str, Any]:
    """A profile with its canonical spec, hash and version."""
    return {
        "name": profile.name,
        "spec": profile.spec,
        "spec_hash": profile.spec_hash,
        "version": profile.version,
        "created_at": isotime(profile.created_at),
        "updated_at": isotime(profile.updated_at),
    }


def media_type(fmt: str | None) -> str:
    """The media type of a stored variant's format name."""
    return TRAITS[ImageFormat(fmt)].mime_type if fmt else "application/octet-stream"


def dead_letter_view(letter: DeadLetterRecord) -> dict[str, Any]:
    """A dead letter: what failed, why, after how many attempts, and whether replayed."""
    return {
        "id": letter.id,
        "kind": letter.kind,
        "image_id": letter.image_id,
        "variant_id": letter.variant_id,
        "reason": letter.reason,
        "error_code": letter.error_code,
        "attempts": letter.attempts,
        "payload": letter.payload,
        "created_at": isotime(letter.created_at),
        "replayed_at": isotime(letter.replayed_at) if letter.replayed_at else None,
    }
