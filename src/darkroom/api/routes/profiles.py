"""/v1/profiles: named transformation specs, managed at run time."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from darkroom.api.body import read_json
from darkroom.api.deps import Ctx, blocking
from darkroom.api.views import profile_view
from darkroom.service import profiles

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])

MAX_PROFILE_BYTES = 8 * 1024 * 1024
"""A profile may embed a watermark image."""


@router.get("")
async def list_profiles(ctx: Ctx) -> dict[str, Any]:
    """Every profile."""
    return {"items": [profile_view(p) for p in await blocking(profiles.list_profiles, ctx)]}


@router.get("/{name}")
async def get_profile(ctx: Ctx, name: str) -> dict[str, Any]:
    """One profile."""
    return profile_view(await blocking(profiles.get_profile, ctx, name))


@router.put("/{name}")
async def put_profile(request: Request, ctx: Ctx, name: str) -> dict[str, Any]:
    """Create or replace a profile; the body is its spec (see the README's spec table)."""
    spec = await read_json(request, MAX_PROFILE_BYTES)
    return profile_view(await blocking(profiles.put_profile, ctx, name, spec))


@router.delete("/{name}", status_code=204)
async def delete_profile(ctx: Ctx, name: str) -> Response:
    """Delete a profile; existing variants keep their spec."""
    await blocking(profiles.delete_profile, ctx, name)
    return Response(status_code=204)


@router.post("/{name}/backfill", status_code=202)
async def backfill(ctx: Ctx, name: str) -> dict[str, Any]:
    """Produce this profile for every existing image that does not have it yet."""
    return {"profile": name, "images_queued": await blocking(profiles.backfill, ctx, name)}
