"""The outbox: events written with the change that caused them, delivered afterwards.

Any serve or worker process delivers due events, each attempt under a lease so that no
two processes send the same attempt. A failed attempt (a non-2xx answer, a timeout) is
retried after 2, 4, 8 ... s, at most an hour apart, for 24 hours; then it is given up.
What is sent depends on the event's kind: a webhook (service.webhooks) or a CDN purge
(service.purge).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import timedelta

from darkroom.db.engine import transaction
from darkroom.db.repo import events as event_rows
from darkroom.db.repo import images as image_rows
from darkroom.db.schema import utcnow
from darkroom.errors import DarkroomError
from darkroom.fetch.sender import send
from darkroom.retry import RetryPolicy, describe
from darkroom.service import purge, webhooks
from darkroom.service.context import Context
from darkroom.service.delivery import Due, GiveUp
from darkroom.service.dto import EventRecord

log = logging.getLogger(__name__)

SCHEDULE = RetryPolicy(max_backoff=3600.0)
"""2, 4, 8 ... s after each failed attempt, at most an hour apart: the first retry comes
within 10 s, and a receiver that is down for a while is not hammered."""
WINDOW = timedelta(hours=24)
"""How long delivery is retried before the event is given up."""
LEASE = timedelta(seconds=120)
"""How long one process owns an attempt: longer than any send can take."""
BATCH = 50


def events_of_image(ctx: Context, image_id: str, *, owner: str | None = None) -> list[EventRecord]:
    """An image's events with their delivery state, oldest first; NotFound for no image."""
    with transaction(ctx.sessions) as session:
        image_rows.get_image(session, image_id, owner_id=owner)
        return [EventRecord.of(e) for e in event_rows.events_of_image(session, image_id)]


def deliver_due(ctx: Context, *, limit: int = BATCH) -> int:
    """Send the events that are due, each once; how many attempts were made."""
    with transaction(ctx.sessions) as session:
        claimed = [
            Due(e.id, e.kind, e.image_id, e.target, dict(e.payload), e.attempts, e.created_at)
            for e in event_rows.claim_due_events(session, lease=LEASE, limit=limit)
            if e.target is not None
        ]
    for event in claimed:
        deliver(ctx, event)
    return len(claimed)


def deliver(ctx: Context, event: Due) -> bool:
    """One attempt at one event; whether the receiver took it (2xx)."""
    started = time.perf_counter()
    builder = purge.request if event.kind == purge.KIND else webhooks.request
    status: int | None = None
    give_up = False
    try:
        request = builder(ctx, event)
        answer = send(
            request.method,
            event.target,
            request.policy,
            body=request.body,
            headers=request.headers,
        )
    except GiveUp as exc:
        error, give_up = str(exc), True
    except DarkroomError as exc:
        error = describe(exc)
    else:
        status = answer.status
        if answer.ok:
            _record(ctx, event, status=status)
            _observe(ctx, event, "delivered", status, started)
            return True
        error = f"the receiver answered {status}: {answer.excerpt.strip()[:200]}"
    give_up = give_up or utcnow() - event.created_at >= WINDOW
    _record(ctx, event, status=status, error=error, give_up=give_up)
    _observe(ctx, event, "given_up" if give_up else "failed", status, started, error)
    return False


def _record(
    ctx: Context,
    event: Due,
    *,
    status: int | None,
    error: str | None = None,
    give_up: bool = False,
) -> None:
    with transaction(ctx.sessions) as session:
        if error is None:
            event_rows.mark_event_delivered(session, event.id, status=status)
            return
        schedule = replace(SCHEDULE, time_scale=ctx.retry.time_scale)
        delay = timedelta(seconds=schedule.backoff(event.attempts))
        retry_at = None if give_up else utcnow() + delay
        event_rows.mark_event_failed(
            session, event.id, error=error, status=status, retry_at=retry_at
        )


def _observe(
    ctx: Context,
    event: Due,
    outcome: str,
    status: int | None,
    started: float,
    error: str | None = None,
) -> None:
    ctx.metrics.deliveries.labels(kind=event.kind, outcome=outcome).inc()
    log.info(
        "%s %s",
        event.kind,
        outcome,
        extra={
            "event_id": event.id,
            "image_id": event.image_id,
            "event_type": event.kind,
            "attempt": event.attempts,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "outcome": outcome,
            **({"error": error} if error else {}),
        },
    )
