"""Profiles: list; create or edit one (admin) with a live preview on a chosen image; backfill."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from darkroom.console.access import Poster, Viewer, Visit, blocking, context_of
from darkroom.console.pages import page, redirect
from darkroom.console.pictures import rendered
from darkroom.errors import DarkroomError, InvalidRequest
from darkroom.service import images, profiles
from darkroom.service.auth import Role

router = APIRouter()

MAX_SPEC = 16 * 1024
_NEW_SPEC = {"width": 400, "height": 300, "fit": "cover", "format": "webp"}


@router.get("/profiles")
async def list_page(request: Request, visit: Viewer) -> Response:
    """Every profile with its spec."""
    found = await blocking(profiles.list_profiles, context_of(request))
    return page(request, "profiles.html", visit, profiles=found)


async def _editor(
    request: Request,
    visit: Visit,
    *,
    name: str,
    spec: str,
    is_new: bool,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = context_of(request)
    recent = await blocking(
        images.list_page,
        ctx,
        owner_id=visit.principal.owner_scope,
        status=None,
        limit=20,
        cursor=None,
    )
    return page(
        request,
        "profile_edit.html",
        visit,
        status_code=status_code,
        name=name,
        spec=spec,
        is_new=is_new,
        error=error,
        images=recent.items,
    )


@router.get("/profiles/new")
async def new_profile(request: Request, visit: Viewer) -> Response:
    """The form for a new profile."""
    visit.principal.require(Role.ADMIN)
    return await _editor(request, visit, name="", spec=json.dumps(_NEW_SPEC, indent=2), is_new=True)


@router.get("/profiles/{name}/edit")
async def edit_profile(request: Request, visit: Viewer, name: str) -> Response:
    """A profile's spec, editable by an admin key."""
    found = await blocking(profiles.get_profile, context_of(request), name)
    spec = json.dumps(found.spec, indent=2)
    return await _editor(request, visit, name=found.name, spec=spec, is_new=False)


def _spec(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"The spec is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise InvalidRequest('The spec must be a JSON object, such as {"width": 300}.')
    return value


@router.post("/profiles")
async def save(
    request: Request,
    visit: Poster,
    name: Annotated[str, Form(max_length=64)],
    spec: Annotated[str, Form(max_length=MAX_SPEC)],
    is_new: Annotated[bool, Form()] = False,
) -> Response:
    """Create or replace a profile; the form again with the problem if it is refused."""
    visit.principal.require(Role.ADMIN)
    try:
        await blocking(profiles.put_profile, context_of(request), name, _spec(spec))
    except DarkroomError as exc:
        return await _editor(
            request,
            visit,
            name=name,
            spec=spec,
            is_new=is_new,
            error=exc.message,
            status_code=exc.status_code,
        )
    return redirect(request, "/profiles", notice="saved")


@router.post("/profiles/{name}/backfill")
async def backfill(request: Request, visit: Poster, name: str) -> Response:
    """Bring every image up to the profile's spec."""
    visit.principal.require(Role.ADMIN)
    count = await blocking(profiles.backfill, context_of(request), name)
    return redirect(request, "/profiles", notice="backfilled", n=count)


@router.get("/profile-preview")
async def preview(
    request: Request,
    visit: Viewer,
    image: Annotated[str, Query(max_length=64)],
    spec: Annotated[str, Query(max_length=MAX_SPEC)],
) -> Response:
    """An image rendered with a spec being edited (not saved)."""
    owner = visit.principal.owner_scope
    return await blocking(rendered, context_of(request), image, _spec(spec), owner=owner)
