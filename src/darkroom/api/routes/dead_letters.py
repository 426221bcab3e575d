"""/v1/dead-letters: work that failed for good, and its replay."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from darkroom.api.deps import Ctx, blocking
from darkroom.api.views import dead_letter_view
from darkroom.service import dead_letters

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])


@router.get("")
async def list_dead_letters(
    ctx: Ctx,
    include_replayed: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Dead letters newest first; replayed ones only on request."""
    page = await blocking(
        dead_letters.list_page, ctx, include_replayed=include_replayed, limit=limit, cursor=cursor
    )
    return {"items": [dead_letter_view(d) for d in page.items], "next_cursor": page.next_cursor}


@router.post("/{letter_id}/replay", status_code=202)
async def replay(ctx: Ctx, letter_id: str) -> dict[str, Any]:
    """Requeue the failed variant with a fresh retry budget (409 if already replayed)."""
    return dead_letter_view(await blocking(dead_letters.replay, ctx, letter_id))
