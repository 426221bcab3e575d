"""Pixels for the console's pages: thumbnails, previews and downloads, as the key may see them."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from darkroom.imaging import TransformSpec
from darkroom.imaging.formats import TRAITS, ImageFormat
from darkroom.service import images, render
from darkroom.service.context import Context

THUMBNAIL = TransformSpec.coerce({"width": 320, "height": 320, "fit": "cover", "format": "webp"})
"""The grid's thumbnails: rendered (and cached) from the original, so even a pending image
has one."""
_PRIVATE = "private, max-age=3600"


def rendered(
    ctx: Context, image_id: str, spec: TransformSpec | dict[str, Any], *, owner: str | None
) -> Response:
    """`image_id` rendered with `spec` (NotFound for another owner's image)."""
    plan = render.plan_stored(ctx, image_id, TransformSpec.coerce(spec), "", owner=owner)
    rendition = render.produce(ctx, plan)
    headers = {"Cache-Control": _PRIVATE, "ETag": plan.etag}
    return Response(rendition.data, media_type=plan.media_type, headers=headers)


def original(ctx: Context, image_id: str, *, owner: str | None) -> Response:
    """The original's bytes, shown inline."""
    image, data = images.original(ctx, image_id, owner=owner)
    headers = {"Cache-Control": _PRIVATE, "ETag": f'"{image.sha256}"'}
    return Response(data, media_type=image.mime_type, headers=headers)


def variant(ctx: Context, image_id: str, profile: str, *, owner: str | None) -> Response:
    """A finished variant as a download named after its image and profile."""
    image, found, data = images.variant(ctx, image_id, profile, owner=owner)
    name = f"{image.id}-{profile}.{found.format or 'bin'}"
    headers = {
        "Cache-Control": _PRIVATE,
        "Content-Disposition": f'attachment; filename="{name}"',
    }
    kind = (
        TRAITS[ImageFormat(found.format)].mime_type if found.format else "application/octet-stream"
    )
    return Response(data, media_type=kind, headers=headers)
