"""Dead letters: work that failed for good, kept for inspection and replay."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.ids import new_id
from darkroom.db.repo._sql import rowcount
from darkroom.db.repo.pagination import Page, keyset_page
from darkroom.db.schema import DeadLetter, utcnow
from darkroom.errors import Conflict, NotFound


def add_dead_letter(
    session: Session,
    *,
    kind: str,
    image_id: str,
    reason: str,
    error_code: str,
    attempts: int,
    payload: Mapping[str, Any],
    variant_id: str | None = None,
    now: datetime | None = None,
) -> DeadLetter:
    """Record work that will not be retried, with what is needed to replay it."""
    letter = DeadLetter(
        id=new_id(),
        kind=kind,
        image_id=image_id,
        variant_id=variant_id,
        reason=reason,
        error_code=error_code,
        attempts=attempts,
        payload=dict(payload),
        created_at=now or utcnow(),
    )
    session.add(letter)
    session.flush()
    return letter


def get_dead_letter(session: Session, letter_id: str) -> DeadLetter:
    """One dead letter; NotFound if there is none."""
    letter = session.get(DeadLetter, letter_id, populate_existing=True)
    if letter is None:
        raise NotFound(f"Dead letter {letter_id} not found.")
    return letter


def list_dead_letters(
    session: Session,
    *,
    include_replayed: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeadLetter]:
    """Dead letters newest first; by default only those not replayed yet."""
    filters = [] if include_replayed else [DeadLetter.replayed_at.is_(None)]
    return keyset_page(session, DeadLetter, DeadLetter.id, filters, limit=limit, cursor=cursor)


def find_unreplayed(session: Session, variant_id: str) -> DeadLetter | None:
    """The newest dead letter of a variant (or analysis) not replayed yet, if any."""
    stmt = (
        sa.select(DeadLetter)
        .where(DeadLetter.variant_id == variant_id, DeadLetter.replayed_at.is_(None))
        .order_by(DeadLetter.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def mark_dead_letter_replayed(
    session: Session, letter_id: str, *, now: datetime | None = None
) -> DeadLetter:
    """Stamp a dead letter as replayed; Conflict if it already was, so work is resent once."""
    result = session.execute(
        sa.update(DeadLetter)
        .where(DeadLetter.id == letter_id, DeadLetter.replayed_at.is_(None))
        .values(replayed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    letter = get_dead_letter(session, letter_id)
    if rowcount(result) != 1:
        raise Conflict(f"Dead letter {letter_id} was already replayed.")
    return letter


def purge_dead_letters(session: Session, *, before: datetime | None = None) -> int:
    """Delete dead letters (all, or those created before `before`); how many went."""
    stmt = sa.delete(DeadLetter).execution_options(synchronize_session=False)
    if before is not None:
        stmt = stmt.where(DeadLetter.created_at < before)
    return rowcount(session.execute(stmt))


def count_unreplayed(session: Session) -> int:
    """How many dead letters wait for a fix and a replay."""
    stmt = (
        sa.select(sa.func.count()).select_from(DeadLetter).where(DeadLetter.replayed_at.is_(None))
    )
    return int(session.execute(stmt).scalar_one())
