"""/v1/images: upload, read, add profiles, download, delete, list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import UploadFile

from darkroom.api.body import decode_base64, json_limit, read_json, read_upload
from darkroom.api.deps import Ctx, blocking
from darkroom.api.views import image_view, media_type
from darkroom.errors import InvalidRequest
from darkroom.service import images
from darkroom.service.dto import Status
from darkroom.service.images import Accepted, Upload

router = APIRouter(prefix="/v1/images", tags=["images"])

MAX_PAGE = 200


@router.post("", status_code=202)
async def upload_image(
    request: Request,
    ctx: Ctx,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Accept an image as multipart `file`, JSON base64 `data`, or JSON `url`."""
    limit = ctx.limits.max_bytes
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidRequest("A multipart upload needs its image in a 'file' field.")
            data = await read_upload(upload, limit)
            options = _options(
                {k: v for k, v in form.items() if isinstance(v, str)}, idempotency_key
            )
        accepted = await blocking(images.upload, ctx, data, options)
    elif content_type.startswith("application/json"):
        body = await read_json(request, json_limit(limit))
        options = _options(body, idempotency_key)
        if ("url" in body) == ("data" in body):
            raise InvalidRequest("Send exactly one of 'url' or 'data' (base64) in the JSON body.")
        if "url" in body:
            if not isinstance(body["url"], str):
                raise InvalidRequest("'url' must be a string.")
            accepted = await blocking(images.upload_from_url, ctx, body["url"], options)
        else:
            data = decode_base64(body["data"], "data", limit)
            accepted = await blocking(images.upload, ctx, data, options)
    else:
        raise InvalidRequest(
            "Send the image as multipart/form-data (field 'file') or application/json "
            "with 'data' (base64) or 'url'."
        )
    return _accepted(accepted)


def _accepted(accepted: Accepted) -> JSONResponse:
    image = accepted.image
    headers = {"Location": f"/v1/images/{image.id}"}
    if not accepted.created:
        headers["Idempotent-Replay"] = "true"
    return JSONResponse(image_view(image), status_code=202, headers=headers)


def _options(fields: dict[str, Any], idempotency_key: str | None) -> Upload:
    return Upload(
        profiles=_profiles(fields.get("profiles")),
        owner_id=_text(fields, "owner_id"),
        callback_url=_text(fields, "callback_url"),
        idempotency_key=idempotency_key,
    )


def _profiles(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list) and all(isinstance(p, str) for p in value):
        return value
    raise InvalidRequest("'profiles' must be a list of names or a comma-separated string.")


_TEXT_LIMITS = {"owner_id": 255, "callback_url": 2048}


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    limit = _TEXT_LIMITS[name]
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"'{name}' must be a string of at most {limit} characters.")
    return value


@router.get("")
async def list_images(
    ctx: Ctx,
    owner_id: str | None = None,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Images newest first, filtered by owner and status, with an opaque cursor."""
    page = await blocking(
        images.list_page, ctx, owner_id=owner_id, status=status, limit=limit, cursor=cursor
    )
    return {"items": [image_view(i) for i in page.items], "next_cursor": page.next_cursor}


@router.get("/{image_id}")
async def get_image(ctx: Ctx, image_id: str) -> dict[str, Any]:
    """Status, metadata and variants of one image."""
    return image_view(await blocking(images.get, ctx, image_id))


@router.post("/{image_id}/variants", status_code=202)
async def add_variants(request: Request, ctx: Ctx, image_id: str) -> JSONResponse:
    """Request more profiles for an existing image: `{"profiles": [...]}`."""
    body = await read_json(request, 64 * 1024)
    names = _profiles(body.get("profiles"))
    if not names:
        raise InvalidRequest('Send the profiles to add: {"profiles": ["name", ...]}.')
    image = await blocking(images.add_profiles, ctx, image_id, names)
    return JSONResponse(image_view(image), status_code=202)


@router.get("/{image_id}/original")
async def get_original(
    ctx: Ctx, image_id: str, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """The original bytes as uploaded."""
    image, data = await blocking(images.original, ctx, image_id)
    return _binary(data, image.mime_type, f'"{image.sha256}"', if_none_match)


@router.get("/{image_id}/variants/{profile}")
async def get_variant(
    ctx: Ctx, image_id: str, profile: str, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """A finished variant's bytes (or a 302 to the store); 404 with its status until done."""
    location = await blocking(images.variant_location, ctx, image_id, profile)
    if location is not None:
        return RedirectResponse(location, status_code=302)
    image, variant, data = await blocking(images.variant, ctx, image_id, profile)
    etag = f'"{image.sha256[:16]}-{variant.spec_hash}"'
    return _binary(data, media_type(variant.format), etag, if_none_match)


@router.delete("/{image_id}", status_code=204)
async def delete_image(ctx: Ctx, image_id: str) -> Response:
    """Delete the image, its variants and (when unshared) its original."""
    await blocking(images.delete, ctx, image_id)
    return Response(status_code=204)


def _binary(data: bytes, media_type: str, etag: str, if_none_match: str | None) -> Response:
    headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
