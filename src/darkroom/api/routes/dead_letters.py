"""/v1/dead-letters: work that failed for good, and its replay (admin keys only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from darkroom.api.auth import Admin
from darkroom.api.deps import Ctx, blocking
from darkroom.api.openapi import errors
from darkroom.api.schemas import dead_letter_out
from darkroom.contract import DeadLetterOut, DeadLetterPage
from darkroom.service import dead_letters

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])


@router.get("", responses=errors(400, 401, 403, 422, 503))
async def list_dead_letters(
    ctx: Ctx,
    who: Admin,
    include_replayed: Annotated[bool, Query(description="List replayed ones too.")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the previous page.")
    ] = None,
) -> DeadLetterPage:
    """Dead letters newest first; replayed ones only on request."""
    page = await blocking(
        dead_letters.list_page,
        ctx,
        include_replayed=include_replayed,
        limit=limit,
        cursor=cursor or None,  # `cursor=` is the first page, as for templated URLs
    )
    items = [dead_letter_out(d) for d in page.items]
    return DeadLetterPage(items=items, next_cursor=page.next_cursor)


@router.post("/{letter_id}/replay", status_code=202, responses=errors(401, 403, 404, 409, 503))
async def replay(ctx: Ctx, who: Admin, letter_id: str) -> DeadLetterOut:
    """Requeue the failed variant with a fresh retry budget (409 if already replayed)."""
    return dead_letter_out(await blocking(dead_letters.replay, ctx, letter_id))
