"""/v1/profiles: named transformation specs, managed at run time.

Any key reads them; writing them (and backfilling) is for admin keys, as profiles are
shared by every owner.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from darkroom.api.auth import Admin, Reader
from darkroom.api.body import read_json
from darkroom.api.deps import Ctx, blocking
from darkroom.api.openapi import errors, links, request_body
from darkroom.api.schemas import profile_out
from darkroom.contract import BackfillOut, ProfileOut, ProfilePage
from darkroom.imaging import TransformSpec
from darkroom.service import profiles

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])

MAX_PROFILE_BYTES = 8 * 1024 * 1024
"""A profile may embed a watermark image."""

# Documented, not enforced by FastAPI: the use-case checks names and says what they look like.
ProfileName = Annotated[
    str,
    Path(
        description="1-64 lowercase letters, digits, '_' or '-', starting with a letter.",
        json_schema_extra={"pattern": "^[a-z][a-z0-9_-]{0,63}$"},
    ),
]


@router.get("", responses=errors(401, 503))
async def list_profiles(ctx: Ctx, who: Reader) -> ProfilePage:
    """Every profile, by name."""
    found = await blocking(profiles.list_profiles, ctx)
    return ProfilePage(items=[profile_out(p) for p in found], next_cursor=None)


@router.get("/{name}", responses=errors(401, 404, 503))
async def get_profile(ctx: Ctx, who: Reader, name: ProfileName) -> ProfileOut:
    """One profile."""
    return profile_out(await blocking(profiles.get_profile, ctx, name))


_PROFILE_LINKS = links("name", "$request.path.name", "get_profile", "backfill", "delete_profile")


@router.put(
    "/{name}",
    responses={200: {"links": _PROFILE_LINKS}, **errors(400, 401, 403, 409, 413, 422, 503)},
    openapi_extra=request_body(("application/json", TransformSpec)),
)
async def put_profile(request: Request, ctx: Ctx, who: Admin, name: ProfileName) -> ProfileOut:
    """Create or replace a profile; the body is its spec (see the README's spec table)."""
    spec = await read_json(request, MAX_PROFILE_BYTES)
    return profile_out(await blocking(profiles.put_profile, ctx, name, spec))


@router.delete(
    "/{name}", status_code=204, response_class=Response, responses=errors(401, 403, 404, 503)
)
async def delete_profile(ctx: Ctx, who: Admin, name: ProfileName) -> Response:
    """Delete a profile; existing variants keep their spec."""
    await blocking(profiles.delete_profile, ctx, name)
    return Response(status_code=204)


@router.post("/{name}/backfill", status_code=202, responses=errors(401, 403, 422, 503))
async def backfill(ctx: Ctx, who: Admin, name: ProfileName) -> BackfillOut:
    """Bring every image up to this profile's spec: add it, or render it again (422 if unknown)."""
    return BackfillOut(profile=name, images_queued=await blocking(profiles.backfill, ctx, name))
