"""API keys (admin keys): create one (shown once), list them, revoke one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from darkroom.console.access import Poster, Viewer, Visit, blocking, context_of
from darkroom.console.pages import page, redirect
from darkroom.errors import DarkroomError
from darkroom.service import auth
from darkroom.service.auth import Role

router = APIRouter()
ROLES = [role.label for role in Role]


async def _page(
    request: Request, visit: Visit, *, created: str | None = None, error: str | None = None
) -> Response:
    found = await blocking(auth.list_keys, context_of(request), include_revoked=True)
    return page(
        request,
        "keys.html",
        visit,
        status_code=400 if error else 200,
        keys=found,
        roles=ROLES,
        created=created,
        error=error,
    )


@router.get("/keys")
async def keys_page(request: Request, visit: Viewer) -> Response:
    """Every key, revoked ones too, and the form to create one."""
    visit.principal.require(Role.ADMIN)
    return await _page(request, visit)


@router.post("/keys")
async def create(
    request: Request,
    visit: Poster,
    owner: Annotated[str, Form(max_length=255)] = "",
    role: Annotated[str, Form(max_length=16)] = "read",
    name: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """Create a key and show it, this once."""
    visit.principal.require(Role.ADMIN)
    try:
        key, _ = await blocking(
            auth.create_key, context_of(request), owner_id=owner, role=role, name=name or None
        )
    except DarkroomError as exc:
        return await _page(request, visit, error=exc.message)
    return await _page(request, visit, created=key)


@router.post("/keys/{key_id}/revoke")
async def revoke(request: Request, visit: Poster, key_id: str) -> Response:
    """Revoke a key: it stops working at once."""
    visit.principal.require(Role.ADMIN)
    await blocking(auth.revoke_key, context_of(request), key_id)
    return redirect(request, "/keys", notice="revoked")
