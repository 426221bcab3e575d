"""Webhooks: an image's completion, delivered signed to its callback_url, retried for a day.

Events are written to the outbox in the same transaction as the status change that
caused them (service.variants), so none is lost; any serve or worker process delivers
them, each attempt under a lease so that no two processes send the same attempt. The
body is built at delivery time: `data` is the image exactly as `GET /v1/images/{id}`
shows it then.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from darkroom.db.engine import transaction
from darkroom.db.repo import events as event_rows
from darkroom.db.repo import images as image_rows
from darkroom.db.schema import utcnow
from darkroom.errors import DarkroomError, InvalidCallbackUrl, NotFound, TransientError
from darkroom.fetch import FetchPolicy
from darkroom.fetch.sender import check_destination, send
from darkroom.retry import RetryPolicy, describe
from darkroom.service.context import Context
from darkroom.service.documents import image_document
from darkroom.service.dto import EventRecord, ImageRecord
from darkroom.webhook_signing import HEADER, sign

log = logging.getLogger(__name__)

SCHEDULE = RetryPolicy(max_backoff=3600.0)
"""2, 4, 8 ... s after each failed attempt, at most an hour apart: the first retry is
within 10 s, and a receiver that is down for a while is not hammered."""
WINDOW = timedelta(hours=24)
"""How long delivery is retried before the event is given up."""
LEASE = timedelta(seconds=120)
"""How long one process owns an attempt: longer than any send can take."""
BATCH = 50
ANSWER_LIMIT = 4096
"""A receiver's answer is read only this far: it is recorded, not used."""


@dataclass(frozen=True, slots=True)
class Due:
    """An event claimed for one delivery attempt."""

    id: str
    kind: str
    image_id: str
    target: str
    attempts: int
    created_at: datetime


def policy(ctx: Context) -> FetchPolicy:
    """What webhook destinations may be: URL-ingestion's address rules, their own allow-list."""
    settings = ctx.settings
    timeout = settings.webhook_timeout_seconds
    return FetchPolicy(
        allow_hosts=tuple(settings.webhook_allow_hosts),
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        total_timeout=timeout * 2,
        max_bytes=ANSWER_LIMIT,
        max_redirects=0,
        allow_hosts_setting="DARKROOM_WEBHOOK_ALLOW_HOSTS",
    )


def check_callback_url(ctx: Context, url: str) -> str:
    """The URL, if a webhook could be delivered there; InvalidCallbackUrl (422) if not.

    A resolver that is down now is not the caller's mistake: that stays a transient error.
    """
    try:
        check_destination(url, policy(ctx))
    except TransientError:
        raise
    except DarkroomError as exc:
        message = exc.message.replace("Cannot fetch", "Cannot deliver webhooks to", 1)
        raise InvalidCallbackUrl(message, details=exc.details) from None
    return url


def events_of_image(ctx: Context, image_id: str) -> list[EventRecord]:
    """An image's events with their delivery state, oldest first; NotFound for no image."""
    with transaction(ctx.sessions) as session:
        image_rows.get_image(session, image_id)
        return [EventRecord.of(e) for e in event_rows.events_of_image(session, image_id)]


def deliver_due(ctx: Context, *, limit: int = BATCH) -> int:
    """Send the events that are due, each once; how many attempts were made."""
    with transaction(ctx.sessions) as session:
        claimed = [
            Due(e.id, e.kind, e.image_id, e.target, e.attempts, e.created_at)
            for e in event_rows.claim_due_events(session, lease=LEASE, limit=limit)
            if e.target is not None
        ]
    for event in claimed:
        deliver(ctx, event)
    return len(claimed)


def deliver(ctx: Context, event: Due) -> bool:
    """One attempt at one event; whether the receiver took it (2xx)."""
    started = time.perf_counter()
    try:
        image = _image(ctx, event.image_id)
    except NotFound:
        _record(ctx, event, status=None, error="the image was deleted", give_up=True)
        return False
    body = _body(event, image)
    headers = {
        "Content-Type": "application/json",
        "Darkroom-Event": event.kind,
        "Darkroom-Delivery": event.id,
    }
    secret = ctx.settings.webhook_secret
    if secret is not None:
        headers[HEADER] = sign(secret.get_secret_value(), body)
    status: int | None = None
    try:
        answer = send("POST", event.target, policy(ctx), body=body, headers=headers)
    except DarkroomError as exc:
        error = describe(exc)
    else:
        status = answer.status
        if answer.ok:
            _record(ctx, event, status=status)
            _log(event, "delivered", status, started)
            return True
        error = f"the receiver answered {status}: {answer.excerpt.strip()[:200]}"
    give_up = utcnow() - event.created_at >= WINDOW
    _record(ctx, event, status=status, error=error, give_up=give_up)
    _log(event, "given up" if give_up else "failed", status, started, error)
    return False


def _image(ctx: Context, image_id: str) -> ImageRecord:
    with transaction(ctx.sessions) as session:
        return ImageRecord.of(image_rows.get_image(session, image_id))


def _body(event: Due, image: ImageRecord) -> bytes:
    document = {
        "id": event.id,
        "type": event.kind,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": image_document(image),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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
        retry_at = (
            None if give_up else utcnow() + timedelta(seconds=schedule.backoff(event.attempts))
        )
        event_rows.mark_event_failed(
            session, event.id, error=error, status=status, retry_at=retry_at
        )


def _log(
    event: Due, outcome: str, status: int | None, started: float, error: str | None = None
) -> None:
    log.info(
        "webhook %s",
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
