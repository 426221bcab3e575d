"""Dead letters: list what failed for good, replay it, purge the record."""

from __future__ import annotations

from datetime import timedelta

from darkroom.db.engine import transaction
from darkroom.db.repo import analyses as analysis_rows
from darkroom.db.repo import dead_letters as dead_letter_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import utcnow
from darkroom.errors import Conflict
from darkroom.service.context import Context
from darkroom.service.dto import DeadLetterRecord, Page

ANALYSIS = "analysis"
"""The kind of an analysis's dead letter (its `variant_id` holds the analysis id)."""


def list_page(
    ctx: Context, *, include_replayed: bool, limit: int, cursor: str | None
) -> Page[DeadLetterRecord]:
    """Dead letters newest first."""
    with transaction(ctx.sessions) as session:
        page = dead_letter_rows.list_dead_letters(
            session, include_replayed=include_replayed, limit=limit, cursor=cursor
        )
        return Page([DeadLetterRecord.of(d) for d in page.items], page.next_cursor)


def replay(ctx: Context, letter_id: str) -> DeadLetterRecord:
    """Put the dead work back on the queue with a fresh retry budget; once per letter."""
    with transaction(ctx.sessions) as session:
        letter = dead_letter_rows.mark_dead_letter_replayed(session, letter_id)
        if letter.variant_id is None:
            raise Conflict(f"Dead letter {letter_id} names no work to replay.")
        if letter.kind == ANALYSIS:
            analysis_rows.requeue_analysis(session, letter.variant_id)
        else:
            variant_rows.requeue_variant(session, letter.variant_id)
        record = DeadLetterRecord.of(letter)
    assert record.variant_id is not None
    if record.kind == ANALYSIS:
        ctx.tasks().analyze(record.payload["analysis"], record.variant_id)
    else:
        ctx.tasks().transform(record.variant_id)
    return record


def purge(ctx: Context, *, older_than: timedelta | None = None) -> int:
    """Delete dead-letter records (the failed variants stay failed), optionally only old ones."""
    before = None if older_than is None else utcnow() - older_than
    with transaction(ctx.sessions) as session:
        return dead_letter_rows.purge_dead_letters(session, before=before)
