"""The outbox: completion events written with the state change, delivered afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.ids import new_id
from darkroom.db.repo._sql import rowcount
from darkroom.db.schema import Event, utcnow
from darkroom.errors import NotFound


def add_event(
    session: Session,
    *,
    kind: str,
    image_id: str,
    payload: Mapping[str, Any],
    target: str | None = None,
    now: datetime | None = None,
) -> Event:
    """Queue an event in the caller's transaction, so it exists if and only if the change does.

    An event with a `target` URL waits for delivery there; one without is recorded only.
    """
    now = now or utcnow()
    event = Event(
        id=new_id(),
        kind=kind,
        image_id=image_id,
        payload=dict(payload),
        target=target,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def claim_due_events(
    session: Session,
    *,
    lease: timedelta,
    limit: int = 100,
    now: datetime | None = None,
) -> list[Event]:
    """Fetch undelivered events that are due, leasing each so no other sender takes it.

    Each claimed event has its attempts counted and is hidden until `now + lease`; if the
    sender dies before marking it delivered or failed, it becomes due again then.
    """
    now = now or utcnow()
    due = sa.and_(
        Event.delivered_at.is_(None),
        Event.given_up_at.is_(None),
        Event.target.is_not(None),
        Event.next_attempt_at <= now,
    )
    candidates = session.scalars(
        sa.select(Event.id).where(due).order_by(Event.next_attempt_at, Event.id).limit(limit)
    ).all()
    claimed = []
    for event_id in candidates:
        # Re-checking "due" in the UPDATE makes each claim atomic, as for variants.
        result = session.execute(
            sa.update(Event)
            .where(Event.id == event_id, due)
            .values(attempts=Event.attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            claimed.append(event_id)
    if not claimed:
        return []
    stmt = (
        sa.select(Event)
        .where(Event.id.in_(claimed))
        .order_by(Event.id)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


def mark_event_delivered(
    session: Session, event_id: str, *, status: int | None = None, now: datetime | None = None
) -> None:
    """Record that an event reached its destination; it is never sent again."""
    _update(session, event_id, delivered_at=now or utcnow(), last_status=status, last_error=None)


def mark_event_failed(
    session: Session,
    event_id: str,
    *,
    error: str,
    retry_at: datetime | None,
    status: int | None = None,
    now: datetime | None = None,
) -> None:
    """Record a failed delivery, and when to try again (None: never, it is given up)."""
    if retry_at is None:
        _update(
            session, event_id, last_error=error, last_status=status, given_up_at=now or utcnow()
        )
    else:
        _update(session, event_id, last_error=error, last_status=status, next_attempt_at=retry_at)


def events_of_image(session: Session, image_id: str) -> list[Event]:
    """Every event of an image, oldest first."""
    stmt = sa.select(Event).where(Event.image_id == image_id).order_by(Event.created_at, Event.id)
    return list(session.scalars(stmt))


def _update(session: Session, event_id: str, **values: object) -> None:
    result = session.execute(
        sa.update(Event)
        .where(Event.id == event_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise NotFound(f"Event {event_id} not found.")
