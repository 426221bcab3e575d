"""/v1/uploads: direct uploads, whose bytes go to the object store and not through the API.

The client asks for a signed URL, PUTs the file there itself, then completes the upload,
which validates and records it like `POST /v1/images`. Needs S3 storage (409 otherwise).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from darkroom.api import fields
from darkroom.api.auth import Uploader
from darkroom.api.body import read_json
from darkroom.api.deps import Ctx, blocking
from darkroom.api.openapi import errors, header, links, request_body
from darkroom.api.request_bodies import DirectUploadJson
from darkroom.api.schemas import image_out
from darkroom.contract import ImageOut
from darkroom.contract.uploads import DirectUploadOut
from darkroom.errors import InvalidRequest
from darkroom.service import uploads
from darkroom.service.uploads import DirectUploadRequest

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

MAX_BODY = 64 * 1024
UploadId = Annotated[str, Path(description="The id `POST /v1/uploads` answered with.")]
_IMAGE_LINKS = links("image_id", "$response.body#/id", "get_image", "get_original", "add_variants")


@router.post(
    "",
    status_code=201,
    response_description="Signed: send the file to `url`, then POST `complete_url`.",
    responses={
        201: {"links": links("upload_id", "$response.body#/id", "complete_upload")},
        **errors(400, 401, 403, 409, 413, 415, 422, 503),
    },
    openapi_extra=request_body(("application/json", DirectUploadJson)),
)
async def create_upload(request: Request, ctx: Ctx, who: Uploader) -> DirectUploadOut:
    """Sign a direct upload: a URL the client PUTs the file to, exactly `bytes` long and
    of `content_type`, within minutes (409 when the storage is not S3)."""
    body = await read_json(request, MAX_BODY)
    size = body.get("bytes")
    if isinstance(size, float) and size.is_integer():
        size = int(size)  # JSON has one number type: 1000.0 is the integer 1000
    if not isinstance(size, int) or isinstance(size, bool):
        raise InvalidRequest("'bytes' must be the file's size in bytes, an integer.")
    content_type = fields.text(body, "content_type")
    if content_type is None:
        raise InvalidRequest("'content_type' must name the file's media type, e.g. image/jpeg.")
    wanted = DirectUploadRequest(
        content_type=content_type,
        size=size,
        filename=fields.text(body, "filename"),
        profiles=fields.names(body.get("profiles"), "profiles"),
        analyses=fields.names(body.get("analyses"), "analyses"),
        # Never the body's word alone: a non-admin's uploads are its key's owner's.
        owner_id=who.acting_owner(fields.text(body, "owner_id")),
        callback_url=fields.text(body, "callback_url"),
    )
    signed = await blocking(uploads.start, ctx, wanted)
    return DirectUploadOut(
        id=signed.upload_id,
        url=signed.url,
        method=signed.method,
        headers=signed.headers,
        expires_at=signed.expires_at,
        complete_url=f"/v1/uploads/{signed.upload_id}/complete",
    )


@router.post(
    "/{upload_id}/complete",
    status_code=202,
    response_description="Accepted: the image is recorded and its variants are queued.",
    responses={
        202: {
            "headers": {
                "Location": header("The image's URL."),
                "Idempotent-Replay": header("`true` when an earlier completion answered."),
            },
            "links": _IMAGE_LINKS,
        },
        **errors(401, 403, 404, 409, 413, 415, 422, 503),
    },
)
async def complete_upload(
    response: Response, ctx: Ctx, who: Uploader, upload_id: UploadId
) -> ImageOut:
    """Validate the stored bytes as an upload (sniffed type, limits, a verifying decode)
    and record the image; bytes that fail are deleted. Completing again answers the same."""
    accepted = await blocking(uploads.complete, ctx, upload_id, owner=who.owner_scope)
    response.headers["Location"] = f"/v1/images/{accepted.image.id}"
    if not accepted.created:
        response.headers["Idempotent-Replay"] = "true"
    return image_out(accepted.image)
