"""/v1/images: upload, read, add profiles and analyses, download, delete, list, events, purge.

Every route acts as the request's key: its role is checked here, and its owner scope is
passed to the use-cases, which answer 404 for another owner's image as for a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from darkroom.api import fields
from darkroom.api.auth import Reader, Uploader, listed_owner
from darkroom.api.body import decode_base64, json_limit, read_form, read_json, read_upload
from darkroom.api.deps import Ctx, blocking
from darkroom.api.downloads import file_response, media_type
from darkroom.api.openapi import (
    CACHE_CONTROL,
    ETAG,
    IMAGE_TYPES,
    ORIGINAL_TYPES,
    binary,
    errors,
    header,
    links,
    not_modified,
    request_body,
)
from darkroom.api.request_bodies import (
    AddAnalyses,
    AddVariants,
    AnalysisName,
    UploadForm,
    UploadJson,
)
from darkroom.api.schemas import analysis_out, event_out, image_out
from darkroom.contract import AnalysisOut, EventPage, ImageOut, ImagePage, PurgeOut
from darkroom.errors import InvalidRequest
from darkroom.service import analyses, images, outbox
from darkroom.service.auth import Principal
from darkroom.service.dto import Status
from darkroom.service.images import Accepted, Upload

router = APIRouter(prefix="/v1/images", tags=["images"])

MAX_PAGE = 200
MAX_VARIANTS_BODY = 64 * 1024

ImageId = Annotated[str, Path(description="The id the upload answered with.")]
_DOWNLOAD_HEADERS = {"ETag": ETAG, "Cache-Control": CACHE_CONTROL}
_IMAGE_LINKS = links(
    "image_id",
    "$response.body#/id",
    "get_image",
    "get_original",
    "add_variants",
    "render_stored",
    "list_image_events",
    "purge_image",
    "delete_image",
)
_UPLOAD_HEADERS = {
    "Location": header("The image's URL."),
    "Idempotent-Replay": header("`true` when an earlier upload with the same key answered."),
}


@router.post(
    "",
    status_code=202,
    response_description="Accepted: the image is stored and its variants are queued.",
    responses={
        202: {"headers": _UPLOAD_HEADERS, "links": _IMAGE_LINKS},
        **errors(400, 401, 403, 409, 413, 415, 422, 502, 503, 504),
    },
    openapi_extra=request_body(
        ("multipart/form-data", UploadForm), ("application/json", UploadJson)
    ),
)
async def upload_image(
    request: Request,
    response: Response,
    ctx: Ctx,
    who: Uploader,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Repeat-safe uploads: a retry answers the same.",
        ),
    ] = None,
) -> ImageOut:
    """Accept an image as multipart `file`, JSON base64 `data`, or JSON `url`.

    The image is recorded for the key's owner; only an admin key may name another in
    `owner_id` (403 otherwise).
    """
    limit = ctx.limits.max_bytes
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with read_form(request, max_bytes=limit, max_fields=20) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidRequest("A multipart upload needs its image in a 'file' field.")
            data = await read_upload(upload, limit)
            options = _options(
                {k: v for k, v in form.items() if isinstance(v, str)}, idempotency_key, who
            )
        accepted = await blocking(images.upload, ctx, data, options)
    elif content_type.startswith("application/json"):
        body = await read_json(request, json_limit(limit))
        options = _options(body, idempotency_key, who)
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
    return _accepted(accepted, response)


def _accepted(accepted: Accepted, response: Response) -> ImageOut:
    image = accepted.image
    response.headers["Location"] = f"/v1/images/{image.id}"
    if not accepted.created:
        response.headers["Idempotent-Replay"] = "true"
    return image_out(image)


def _options(given: dict[str, Any], idempotency_key: str | None, who: Principal) -> Upload:
    return Upload(
        profiles=fields.names(given.get("profiles"), "profiles"),
        analyses=fields.names(given.get("analyses"), "analyses"),
        # Never the form's word alone: a non-admin's uploads are its key's owner's.
        owner_id=who.acting_owner(fields.text(given, "owner_id")),
        callback_url=fields.text(given, "callback_url"),
        idempotency_key=idempotency_key,
    )


@router.get("", responses=errors(400, 401, 403, 422, 503))
async def list_images(
    ctx: Ctx,
    who: Reader,
    owner_id: Annotated[
        str | None,
        Query(
            description="Only this owner's images. A non-admin key always lists its own "
            "owner's, and may name only that one (403 otherwise)."
        ),
    ] = None,
    status: Annotated[Status | None, Query(description="Only images in this state.")] = None,
    profile: Annotated[
        str | None,
        Query(max_length=64, description="Only images with a variant of this profile."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> ImagePage:
    """Images newest first, filtered by owner, status and profile, with an opaque cursor."""
    page = await blocking(
        images.list_page,
        ctx,
        owner_id=listed_owner(who, owner_id),
        status=status,
        profile=profile or None,
        limit=limit,
        cursor=cursor or None,  # `cursor=` is the first page, as for templated URLs
    )
    return ImagePage(items=[image_out(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/{image_id}", responses=errors(401, 404, 503))
async def get_image(ctx: Ctx, who: Reader, image_id: ImageId) -> ImageOut:
    """Status, metadata and variants of one image."""
    return image_out(await blocking(images.get, ctx, image_id, owner=who.owner_scope))


@router.post(
    "/{image_id}/variants",
    status_code=202,
    response_description="Accepted: the new variants are queued.",
    responses={202: {"links": _IMAGE_LINKS}, **errors(400, 401, 403, 404, 409, 413, 422, 503)},
    openapi_extra=request_body(("application/json", AddVariants)),
)
async def add_variants(request: Request, ctx: Ctx, who: Uploader, image_id: ImageId) -> ImageOut:
    """Request more profiles for an existing image: `{"profiles": [...]}`."""
    body = await read_json(request, MAX_VARIANTS_BODY)
    names = fields.names(body.get("profiles"), "profiles")
    if not names:
        raise InvalidRequest('Send the profiles to add: {"profiles": ["name", ...]}.')
    added = await blocking(images.add_profiles, ctx, image_id, names, owner=who.owner_scope)
    return image_out(added)


@router.post(
    "/{image_id}/analyses",
    status_code=202,
    response_description="Accepted: the analyses are queued (a failed one afresh).",
    responses={202: {"links": _IMAGE_LINKS}, **errors(400, 401, 403, 404, 413, 422, 503)},
    openapi_extra=request_body(("application/json", AddAnalyses)),
)
async def add_analyses(request: Request, ctx: Ctx, who: Uploader, image_id: ImageId) -> ImageOut:
    """Ask for analyses of an existing image: `{"analyses": ["ocr", ...]}`.

    Analyses already done or running are left as they are; failed ones run again.
    """
    body = await read_json(request, MAX_VARIANTS_BODY)
    names = fields.names(body.get("analyses"), "analyses")
    if not names:
        raise InvalidRequest('Send the analyses to run: {"analyses": ["ocr", ...]}.')
    image = await blocking(analyses.request, ctx, image_id, names, owner=who.owner_scope)
    return image_out(image)


@router.get("/{image_id}/analyses/{name}", responses=errors(401, 404, 422, 503))
async def get_analysis(
    ctx: Ctx,
    who: Reader,
    image_id: ImageId,
    name: Annotated[AnalysisName, Path(description="colors, faces, labels, logos, nsfw or ocr.")],
) -> AnalysisOut:
    """One analysis of an image: its status, and once done its result and model."""
    found = await blocking(analyses.get, ctx, image_id, name, owner=who.owner_scope)
    return analysis_out(image_id, found)


@router.get(
    "/{image_id}/original",
    response_class=Response,
    responses={
        200: binary("The original's bytes.", ORIGINAL_TYPES, _DOWNLOAD_HEADERS),
        304: not_modified(_DOWNLOAD_HEADERS),
        **errors(401, 404, 503),
    },
)
async def get_original(
    ctx: Ctx,
    who: Reader,
    image_id: ImageId,
    if_none_match: Annotated[str | None, Header(description="ETags already held.")] = None,
) -> Response:
    """The original bytes as uploaded."""
    image, data = await blocking(images.original, ctx, image_id, owner=who.owner_scope)
    return file_response(data, image.mime_type, f'"{image.sha256}"', if_none_match)


@router.get(
    "/{image_id}/variants/{profile}",
    response_class=Response,
    responses={
        200: binary("The variant's bytes.", IMAGE_TYPES, _DOWNLOAD_HEADERS),
        302: {
            "description": "Download from the store (DARKROOM_REDIRECT_DOWNLOADS).",
            "headers": {"Location": header("A short-lived URL of the variant.")},
        },
        304: not_modified(_DOWNLOAD_HEADERS),
        **errors(401, 404, 503),
    },
)
async def get_variant(
    ctx: Ctx,
    who: Reader,
    image_id: ImageId,
    profile: str,
    if_none_match: Annotated[str | None, Header(description="ETags already held.")] = None,
) -> Response:
    """A finished variant's bytes (or a 302 to the store); 404 with its status until done."""
    owner = who.owner_scope
    location = await blocking(images.variant_location, ctx, image_id, profile, owner=owner)
    if location is not None:
        return RedirectResponse(location, status_code=302)
    image, variant, data = await blocking(images.variant, ctx, image_id, profile, owner=owner)
    etag = f'"{image.sha256[:16]}-{variant.spec_hash}"'
    return file_response(data, media_type(variant.format), etag, if_none_match)


@router.delete(
    "/{image_id}", status_code=204, response_class=Response, responses=errors(401, 403, 404, 503)
)
async def delete_image(ctx: Ctx, who: Uploader, image_id: ImageId) -> Response:
    """Delete the image, its variants and (when unshared) its original."""
    await blocking(images.delete, ctx, image_id, owner=who.owner_scope)
    return Response(status_code=204)


@router.get("/{image_id}/events", responses=errors(401, 404, 503))
async def list_image_events(ctx: Ctx, who: Reader, image_id: ImageId) -> EventPage:
    """The image's outbox events (webhooks, CDN purges) with their delivery state, oldest first."""
    found = await blocking(outbox.events_of_image, ctx, image_id, owner=who.owner_scope)
    return EventPage(items=[event_out(e) for e in found], next_cursor=None)


@router.post(
    "/{image_id}/purge",
    status_code=202,
    response_description="Accepted: the purge requests are queued for the CDN.",
    responses=errors(400, 401, 403, 404, 503),
)
async def purge_image(ctx: Ctx, who: Uploader, image_id: ImageId) -> PurgeOut:
    """Ask the CDN to drop every URL of the image (400 when no CDN is configured)."""
    queued = await blocking(images.purge_cdn, ctx, image_id, owner=who.owner_scope)
    return PurgeOut(image_id=image_id, purges_queued=queued)
