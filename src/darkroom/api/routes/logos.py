"""/v1/logos: the reference logos the logos analysis looks for, managed by admin keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from starlette.datastructures import UploadFile

from darkroom.api.auth import Admin
from darkroom.api.body import read_form, read_upload
from darkroom.api.deps import Ctx, blocking
from darkroom.api.downloads import file_response
from darkroom.api.openapi import (
    CACHE_CONTROL,
    ETAG,
    ORIGINAL_TYPES,
    binary,
    errors,
    not_modified,
    request_body,
)
from darkroom.api.request_bodies import LogoForm
from darkroom.api.schemas import logo_out
from darkroom.contract import LogoOut, LogoPage
from darkroom.errors import InvalidRequest
from darkroom.service import logos

router = APIRouter(prefix="/v1/logos", tags=["logos"])

LogoName = Annotated[
    str,
    Path(
        description="1-64 lowercase letters, digits, '_' or '-', starting with a letter.",
        json_schema_extra={"pattern": "^[a-z][a-z0-9_-]{0,63}$"},
    ),
]
_IMAGE_HEADERS = {"ETag": ETAG, "Cache-Control": CACHE_CONTROL}


@router.get("", responses=errors(401, 403, 503))
async def list_logos(ctx: Ctx, who: Admin) -> LogoPage:
    """Every reference logo, by name."""
    found = await blocking(logos.list_all, ctx)
    return LogoPage(items=[logo_out(logo) for logo in found], next_cursor=None)


@router.put(
    "/{name}",
    responses=errors(400, 401, 403, 413, 415, 422, 503),
    openapi_extra=request_body(("multipart/form-data", LogoForm)),
)
async def put_logo(request: Request, ctx: Ctx, who: Admin, name: LogoName) -> LogoOut:
    """Register a reference logo (or replace the image of one) as multipart `file`.

    The image must have enough distinct features to be found (422 otherwise); logos
    analyses from now on look for it.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidRequest("Send the logo as multipart/form-data with its image in 'file'.")
    async with read_form(request, max_bytes=ctx.limits.max_bytes, max_fields=20) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequest("A logo upload needs its image in a 'file' field.")
        data = await read_upload(upload, ctx.limits.max_bytes)
    return logo_out(await blocking(logos.put, ctx, name, data))


@router.get("/{name}", responses=errors(401, 403, 404, 503))
async def get_logo(ctx: Ctx, who: Admin, name: LogoName) -> LogoOut:
    """One reference logo."""
    return logo_out(await blocking(logos.get, ctx, name))


@router.get(
    "/{name}/image",
    response_class=Response,
    responses={
        200: binary("The logo image's bytes.", ORIGINAL_TYPES, _IMAGE_HEADERS),
        304: not_modified(_IMAGE_HEADERS),
        **errors(401, 403, 404, 503),
    },
)
async def get_logo_image(
    ctx: Ctx,
    who: Admin,
    name: LogoName,
    if_none_match: Annotated[str | None, Header(description="ETags already held.")] = None,
) -> Response:
    """The logo image as registered."""
    logo, data = await blocking(logos.image, ctx, name)
    return file_response(data, logo.mime_type, f'"{logo.sha256}"', if_none_match)


@router.delete("/{name}", status_code=204, responses=errors(401, 403, 404, 503))
async def delete_logo(ctx: Ctx, who: Admin, name: LogoName) -> Response:
    """Remove a reference logo; finds already recorded stay."""
    await blocking(logos.delete, ctx, name)
    return Response(status_code=204)
