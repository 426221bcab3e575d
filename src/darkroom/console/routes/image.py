"""One image: its original and metadata, variants, analyses, retries and the render playground."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from darkroom.console.access import Poster, Viewer, blocking, context_of
from darkroom.console.pages import page, redirect, root
from darkroom.console.pictures import original, rendered, variant
from darkroom.imaging import parse_query
from darkroom.service import exif, images, repairs
from darkroom.service.auth import Role
from darkroom.service.context import Context
from darkroom.service.dto import ImageRecord
from darkroom.signing import sign

router = APIRouter()

PLAYGROUND = ("w", "h", "fit", "g", "fmt", "q")
"""The render options the playground sets, by their short query names."""
FITS = ("contain", "cover", "fill", "pad")
GRAVITIES = (
    "centre",
    "north",
    "northeast",
    "east",
    "southeast",
    "south",
    "southwest",
    "west",
    "northwest",
    "attention",
    "entropy",
)
FORMATS = ("auto", "jpeg", "png", "webp", "avif", "gif")


def face_boxes(image: ImageRecord) -> list[dict[str, float]]:
    """The faces analysis's boxes as percentages of the original, to draw over it."""
    found = image.analysis("faces")
    if found is None or found.result is None:
        return []
    boxes = []
    for face in found.result.get("faces", []):
        x, y, w, h = face["box"]
        boxes.append(
            {
                "left": 100 * x / image.width,
                "top": 100 * y / image.height,
                "width": 100 * w / image.width,
                "height": 100 * h / image.height,
                "confidence": float(face.get("confidence", 0)),
            }
        )
    return boxes


@router.get("/images/{image_id}")
async def image_page(request: Request, visit: Viewer, image_id: str) -> Response:
    """The image page."""
    owner = visit.principal.owner_scope
    ctx = context_of(request)
    found = await blocking(images.get, ctx, image_id, owner=owner)
    tags = await blocking(exif.summary, ctx, image_id, owner=owner)
    return page(
        request,
        "image.html",
        visit,
        image=found,
        exif=tags,
        boxes=face_boxes(found),
        fits=FITS,
        gravities=GRAVITIES,
        formats=FORMATS,
    )


@router.get("/api/images/{image_id}")
async def image_json(request: Request, visit: Viewer, image_id: str) -> JSONResponse:
    """The image's status and its variants' and analyses', for live updates."""
    owner = visit.principal.owner_scope
    found = await blocking(images.get, context_of(request), image_id, owner=owner)
    body: dict[str, Any] = {
        "id": found.id,
        "status": found.status.value,
        "variants": {v.profile: v.status.value for v in found.variants},
        "analyses": {a.analysis: a.status.value for a in found.analyses},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/images/{image_id}/original")
async def original_file(request: Request, visit: Viewer, image_id: str) -> Response:
    """The original, inline."""
    owner = visit.principal.owner_scope
    return await blocking(original, context_of(request), image_id, owner=owner)


@router.get("/images/{image_id}/variants/{profile}")
async def variant_file(request: Request, visit: Viewer, image_id: str, profile: str) -> Response:
    """A finished variant, as a download."""
    owner = visit.principal.owner_scope
    return await blocking(variant, context_of(request), image_id, profile, owner=owner)


@router.post("/images/{image_id}/variants/{profile}/retry")
async def retry(request: Request, visit: Poster, image_id: str, profile: str) -> Response:
    """Queue a failed variant again."""
    visit.principal.require(Role.UPLOAD)
    owner = visit.principal.owner_scope
    ctx = context_of(request)
    await blocking(repairs.retry_variant, ctx, image_id, profile, owner=owner)
    return redirect(request, f"/images/{image_id}", notice="retried")


def _playground_query(request: Request) -> str:
    """The playground's options in a fixed order, empty ones left out; checked as a spec."""
    params = request.query_params
    pairs = [(name, params[name]) for name in PLAYGROUND if params.get(name)]
    query = urlencode(pairs)
    parse_query(query)  # InvalidSpec names each bad option
    return query


@router.get("/images/{image_id}/render")
async def render_preview(request: Request, visit: Viewer, image_id: str) -> Response:
    """The playground's preview: the image rendered with its options."""
    query = _playground_query(request)
    spec = parse_query(query)
    owner = visit.principal.owner_scope
    return await blocking(rendered, context_of(request), image_id, spec, owner=owner)


@router.get("/images/{image_id}/render-url")
async def render_url(request: Request, visit: Viewer, image_id: str) -> JSONResponse:
    """The playground's options as a signed /v1/render URL, and the preview's address."""
    query = _playground_query(request)
    owner = visit.principal.owner_scope
    ctx = context_of(request)
    await blocking(images.get, ctx, image_id, owner=owner)  # 404 for another owner's image
    origin = f"{request.url.scheme}://{request.url.netloc}"
    url, note = _signed(ctx, f"/v1/render/{image_id}?{query}")
    preview = f"{root(request)}/images/{image_id}/render?{query}"
    return JSONResponse({"url": origin + url if url else None, "note": note, "preview": preview})


def _signed(ctx: Context, path: str) -> tuple[str | None, str | None]:
    settings = ctx.settings
    if settings.signing_keys:
        return sign(path, settings.signing_keys[0].get_secret_value()), None
    if settings.allow_unsigned:
        return path, "Unsigned: this deployment serves render URLs without a signature."
    return None, "No signing key is configured (DARKROOM_SIGNING_KEYS): renders are refused."
