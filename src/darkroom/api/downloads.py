"""Answers that carry a stored file's bytes."""

from __future__ import annotations

from fastapi import Response

from darkroom.imaging.formats import TRAITS, ImageFormat

PRIVATE_CACHE = "private, max-age=31536000, immutable"


def media_type(fmt: str | None) -> str:
    """The media type of a stored variant's format name."""
    return TRAITS[ImageFormat(fmt)].mime_type if fmt else "application/octet-stream"


def file_response(data: bytes, media_type: str, etag: str, if_none_match: str | None) -> Response:
    """The bytes with their ETag, or a 304 when `If-None-Match` names that tag."""
    headers = {"ETag": etag, "Cache-Control": PRIVATE_CACHE}
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
