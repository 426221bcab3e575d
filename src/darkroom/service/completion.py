"""The event an image's completion records, whichever piece of its work finished last."""

from __future__ import annotations

from sqlalchemy.orm import Session

from darkroom.db.repo import events as event_rows
from darkroom.db.repo.variants import ImageStatusChange
from darkroom.db.schema import Status

COMPLETION_EVENTS = {Status.DONE: "image.done", Status.FAILED: "image.failed"}


def record_completion(session: Session, change: ImageStatusChange) -> None:
    """Record image.done or image.failed (delivered to its callback) when the status moved."""
    kind = COMPLETION_EVENTS.get(change.after)
    if kind is None or change.before == change.after:
        return
    event_rows.add_event(
        session,
        kind=kind,
        image_id=change.image_id,
        payload={"status": change.after.value},
        target=change.callback_url,
    )
