"""Putting failed work back on the queue: one failed variant, or every dead letter of a kind."""

from __future__ import annotations

from darkroom.db.engine import transaction
from darkroom.db.repo import dead_letters as dead_letter_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.errors import Conflict, InvalidRequest, NotFound
from darkroom.service import dead_letters, images
from darkroom.service.context import Context
from darkroom.service.dto import Status

KINDS = ("transform", dead_letters.ANALYSIS)
"""The kinds of dead letters: a variant's transform, or an analysis."""
_PAGE = 200


def retry_variant(ctx: Context, image_id: str, profile: str, *, owner: str | None) -> None:
    """Render a failed variant again with a fresh retry budget (its dead letter is replayed).

    NotFound for another owner's image or an unknown profile; Conflict unless it failed.
    """
    image = images.get(ctx, image_id, owner=owner)
    variant = image.variant(profile)
    if variant is None:
        raise NotFound(f"Image {image_id} has no {profile} variant.")
    if variant.status is not Status.FAILED:
        raise Conflict(
            f"The {profile} variant is {variant.status.value}; only a failed one can be retried."
        )
    with transaction(ctx.sessions) as session:
        letter = dead_letter_rows.find_unreplayed(session, variant.id)
        letter_id = None if letter is None else letter.id
        if letter_id is None:
            variant_rows.requeue_variant(session, variant.id)
    if letter_id is not None:
        dead_letters.replay(ctx, letter_id)  # requeues and marks the letter replayed
    else:
        ctx.tasks().transform(variant.id)


def replay_kind(ctx: Context, kind: str) -> int:
    """Replay every dead letter of `kind` not replayed yet; how many were."""
    if kind not in KINDS:
        raise InvalidRequest(f"Unknown dead-letter kind {kind!r}: use {' or '.join(KINDS)}.")
    replayed = 0
    cursor: str | None = None
    while True:
        page = dead_letters.list_page(ctx, include_replayed=False, limit=_PAGE, cursor=cursor)
        for letter in page.items:
            if letter.kind != kind:
                continue
            try:
                dead_letters.replay(ctx, letter.id)
            except Conflict:
                continue  # replayed meanwhile by someone else
            replayed += 1
        if page.next_cursor is None:
            return replayed
        cursor = page.next_cursor
