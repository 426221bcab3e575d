"""Dead letters: list what failed for good, replay it, purge the record."""

from __future__ import annotations

from datetime import datetime

from darkroom.db import repo
from darkroom.db.engine import transaction
from darkroom.db.schema import DeadLetter
from darkroom.errors import Conflict
from darkroom.service.context import Context


def list_page(
    ctx: Context, *, include_replayed: bool, limit: int, cursor: str | None
) -> repo.Page[DeadLetter]:
    """Dead letters newest first."""
    with transaction(ctx.sessions) as session:
        return repo.list_dead_letters(
            session, include_replayed=include_replayed, limit=limit, cursor=cursor
        )


def replay(ctx: Context, letter_id: str) -> DeadLetter:
    """Put the dead work back on the queue with a fresh retry budget; once per letter."""
    with transaction(ctx.sessions) as session:
        letter = repo.mark_dead_letter_replayed(session, letter_id)
        if letter.variant_id is None:
            raise Conflict(f"Dead letter {letter_id} names no variant to replay.")
        repo.requeue_variant(session, letter.variant_id)
    ctx.tasks().transform(letter.variant_id)
    return letter


def purge(ctx: Context, *, before: datetime | None = None) -> int:
    """Delete dead-letter records (the failed variants stay failed); how many."""
    with transaction(ctx.sessions) as session:
        return repo.purge_dead_letters(session, before=before)
