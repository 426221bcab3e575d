"""The images grid: thumbnails with status badges, filters, live updates, and uploads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from darkroom.console.access import Poster, Viewer, Visit, blocking, context_of
from darkroom.console.pages import TEMPLATES, page, redirect, root
from darkroom.console.pictures import THUMBNAIL, rendered
from darkroom.errors import Forbidden, ImageTooLarge, InvalidRequest
from darkroom.service import images, profiles
from darkroom.service.auth import Role
from darkroom.service.context import Context
from darkroom.service.dto import ImageRecord, Page, Status

router = APIRouter()

PAGE_SIZE = 48
MAX_FILES = 50


class Filters:
    """The grid's filters, as the query string gives them."""

    def __init__(
        self,
        status: Annotated[str, Query(max_length=16)] = "",
        owner: Annotated[str, Query(max_length=255)] = "",
        profile: Annotated[str, Query(max_length=64)] = "",
        cursor: Annotated[str, Query(max_length=200)] = "",
    ) -> None:
        # The filter form sends every field, "" meaning any.
        try:
            self.status = Status(status) if status else None
        except ValueError:
            known = ", ".join(s.value for s in Status)
            raise InvalidRequest(f"Unknown status {status!r}: use {known}.") from None
        self.owner = owner
        self.profile = profile
        self.cursor = cursor

    def owner_for(self, visit: Visit) -> str | None:
        """The owner to list: any (or the chosen one) for an admin, else the key's own."""
        principal = visit.principal
        if principal.role is Role.ADMIN:
            return self.owner or None
        if self.owner and self.owner != principal.owner_id:
            raise Forbidden("A key sees only its own owner's images.")
        return principal.owner_id


def _listed(ctx: Context, visit: Visit, filters: Filters) -> Page[ImageRecord]:
    return images.list_page(
        ctx,
        owner_id=filters.owner_for(visit),
        status=filters.status,
        profile=filters.profile or None,
        limit=PAGE_SIZE,
        cursor=filters.cursor or None,
    )


@router.get("/images")
async def grid(request: Request, visit: Viewer, filters: Annotated[Filters, Depends()]) -> Response:
    """Thumbnails of the images the key may see, newest first, with the upload panel."""
    ctx = context_of(request)
    listed = await blocking(_listed, ctx, visit, filters)
    names = [p.name for p in await blocking(profiles.list_profiles, ctx)]
    return page(
        request,
        "images.html",
        visit,
        images=listed.items,
        next_cursor=listed.next_cursor,
        filters=filters,
        statuses=[s.value for s in Status],
        profile_names=names,
    )


@router.get("/api/images")
async def grid_json(
    request: Request, visit: Viewer, filters: Annotated[Filters, Depends()]
) -> JSONResponse:
    """The grid's cards as HTML with their status, for the page's live updates."""
    listed = await blocking(_listed, context_of(request), visit, filters)
    card = TEMPLATES.get_template("_card.html")
    base = root(request)
    items = [
        {"id": i.id, "status": i.status.value, "html": card.render(image=i, root=base)}
        for i in listed.items
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


@router.post("/images")
async def upload(request: Request, visit: Poster) -> Response:
    """Upload files (the form's `files`) with the chosen profiles; JSON for the script."""
    visit.principal.require(Role.UPLOAD)
    ctx = context_of(request)
    limit = ctx.limits.max_bytes
    accepted: list[dict[str, Any]] = []
    async with request.form(max_files=MAX_FILES, max_fields=100) as form:
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not files:
            raise InvalidRequest("Choose at least one image file to upload.")
        chosen = [p for p in form.getlist("profiles") if isinstance(p, str) and p]
        options = images.Upload(
            profiles=chosen, owner_id=visit.principal.acting_owner(None), analyses=None
        )
        for file in files:
            data = await file.read(limit + 1)
            if len(data) > limit:
                raise ImageTooLarge(f"{file.filename} is larger than the limit of {limit:,} bytes.")
            record = (await blocking(images.upload, ctx, data, options)).image
            accepted.append(
                {
                    "id": record.id,
                    "name": file.filename,
                    "status": record.status.value,
                    "url": f"{root(request)}/images/{record.id}",
                }
            )
    if request.headers.get("accept", "").startswith("application/json"):
        return JSONResponse({"items": accepted}, status_code=202)
    return redirect(request, "/images", notice="uploaded", n=len(accepted))


@router.get("/images/{image_id}/thumbnail")
async def thumbnail(request: Request, visit: Viewer, image_id: str) -> Response:
    """The grid's thumbnail of an image."""
    owner = visit.principal.owner_scope
    return await blocking(rendered, context_of(request), image_id, THUMBNAIL, owner=owner)
