"""Dead letters (admin keys): what failed for good and why; replay one, or all of a kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from darkroom.console.access import Poster, Viewer, blocking, context_of
from darkroom.console.pages import page, redirect
from darkroom.service import dead_letters, repairs
from darkroom.service.auth import Role

router = APIRouter()


@router.get("/dead-letters")
async def list_page(
    request: Request,
    visit: Viewer,
    replayed: Annotated[bool, Query()] = False,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Dead letters newest first, with their reasons."""
    visit.principal.require(Role.ADMIN)
    found = await blocking(
        dead_letters.list_page,
        context_of(request),
        include_replayed=replayed,
        limit=100,
        cursor=cursor or None,
    )
    kinds = sorted({letter.kind for letter in found.items if letter.replayed_at is None})
    return page(
        request,
        "dead_letters.html",
        visit,
        letters=found.items,
        next_cursor=found.next_cursor,
        replayed=replayed,
        kinds=kinds,
    )


@router.post("/dead-letters/{letter_id}/replay")
async def replay(request: Request, visit: Poster, letter_id: str) -> Response:
    """Replay one dead letter."""
    visit.principal.require(Role.ADMIN)
    await blocking(dead_letters.replay, context_of(request), letter_id)
    return redirect(request, "/dead-letters", notice="replayed", n=1)


@router.post("/dead-letters/replay-all")
async def replay_all(
    request: Request, visit: Poster, kind: Annotated[str, Form(max_length=64)]
) -> Response:
    """Replay every dead letter of a kind."""
    visit.principal.require(Role.ADMIN)
    count = await blocking(repairs.replay_kind, context_of(request), kind)
    return redirect(request, "/dead-letters", notice="replayed", n=count)
