"""The EXIF summary of a stored original, for people looking at an image."""

from __future__ import annotations

from darkroom.imaging import exif
from darkroom.service import images
from darkroom.service.context import Context


def summary(ctx: Context, image_id: str, *, owner: str | None) -> list[tuple[str, str]]:
    """(label, value) of the original's camera, exposure and orientation tags, if any."""
    _, data = images.original(ctx, image_id, owner=owner)
    return exif.summary(data)
