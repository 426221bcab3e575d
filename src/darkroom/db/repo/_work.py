"""The work state shared by variants and analyses: claims, completion, retries, recovery,
and the image status they imply together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from darkroom.db.repo._sql import rowcount
from darkroom.db.schema import Image, ImageAnalysis, ImageVariant, Status, utcnow
from darkroom.errors import NotFound

Work = TypeVar("Work", ImageVariant, ImageAnalysis)
_IN_FLIGHT = (Status.PENDING, Status.PROCESSING)
_NOUN = {ImageVariant: "Variant", ImageAnalysis: "Analysis"}


@dataclass(frozen=True)
class ImageStatusChange:
    """An image's status before and after one of its variants or analyses changed state."""

    image_id: str
    before: Status
    after: Status
    callback_url: str | None = None
    """Where the image's completion is to be announced, if anywhere."""

    @property
    def changed(self) -> bool:
        """Whether the image's status moved (the cue for a completion event)."""
        return self.before != self.after


@dataclass(frozen=True)
class VariantState:
    """The fields of one piece of work (a variant or an analysis) that decide the image's status."""

    profile: str
    status: Status
    attempt_count: int


def image_status_for(work: Sequence[VariantState]) -> Status:
    """The status an image has given the states of its variants and analyses."""
    if any(w.status in _IN_FLIGHT for w in work):
        untouched = all(w.status is Status.PENDING and w.attempt_count == 0 for w in work)
        return Status.PENDING if untouched else Status.PROCESSING
    if any(w.status is Status.FAILED for w in work):
        return Status.FAILED
    return Status.DONE


def taking(
    model: type[Work], which: sa.ColumnElement[bool], *, lease: timedelta, now: datetime
) -> sa.Update:
    """The UPDATE that takes the rows `which` for work, leased until `now + lease`."""
    return (
        sa.update(model)
        .where(which)
        .values(
            status=Status.PROCESSING,
            attempt_count=model.attempt_count + 1,
            lease_until=now + lease,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def take(
    session: Session, model: type[Work], row_id: str, *, lease: timedelta, now: datetime
) -> str | None:
    """Take a row for work (pending, or processing with an expired lease): its image's id,
    or None if another worker has it. NotFound if the row does not exist.

    One conditional UPDATE: of any number of workers racing for the same row exactly one
    sees it updated.
    """
    claimable = sa.or_(
        model.status == Status.PENDING,
        sa.and_(
            model.status == Status.PROCESSING,
            sa.or_(model.lease_until.is_(None), model.lease_until < now),
        ),
    )
    stmt = taking(model, sa.and_(model.id == row_id, claimable), lease=lease, now=now)
    image_id: str | None = session.execute(stmt.returning(model.image_id)).scalar_one_or_none()
    if image_id is None:
        image_id_of(session, model, row_id)
    return image_id


def claim(
    session: Session, model: type[Work], row_id: str, *, lease: timedelta, now: datetime
) -> Work | None:
    """Take a row for work (`take`) and return it with its image loaded; None if taken."""
    image_id = take(session, model, row_id, lease=lease, now=now)
    if image_id is None:
        return None
    claimed: Work = session.execute(
        sa.select(model)
        .options(joinedload(model.image))
        .where(model.id == row_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    refresh_image_status(session, image_id, now=now)
    return claimed


def finish(
    session: Session, model: type[Work], row_id: str, now: datetime, **values: object
) -> ImageStatusChange:
    """Record a row's new state (`values`) and recompute its image's status."""
    image_id = image_id_of(session, model, row_id)
    stmt = sa.update(model).where(model.id == row_id)
    if values["status"] is not Status.DONE:
        # A worker whose lease ran out may report a failure after another worker already
        # finished the work; the result exists, so the late report must not undo it.
        stmt = stmt.where(model.status != Status.DONE)
    session.execute(stmt.values(lease_until=None, updated_at=now, **values))
    return refresh_image_status(session, image_id, now=now)


def refresh_image_status(
    session: Session, image_id: str, *, now: datetime | None = None
) -> ImageStatusChange:
    """Recompute an image's status from its variants and analyses, under a lock on the image."""
    # Two workers finishing an image's last two pieces of work at once must not both read
    # the other's as unfinished (write skew). Each has already updated its own row;
    # locking the image row makes them read one after the other, so the second sees the
    # first's commit. SQLite's single writer serialises anyway.
    found = session.execute(
        sa.select(Image.status, Image.callback_url).where(Image.id == image_id).with_for_update()
    ).one_or_none()
    if found is None:
        raise NotFound(f"Image {image_id} not found.")
    before, callback_url = found
    variants, analyses = _states(session, image_id)
    after = image_status_for([*variants, *analyses])
    if after != before:
        error = _failures(variants, analyses) if after is Status.FAILED else None
        session.execute(
            sa.update(Image)
            .where(Image.id == image_id)
            .values(status=after, error=error, updated_at=now or utcnow())
        )
    return ImageStatusChange(image_id, before, after, callback_url)


def _states(session: Session, image_id: str) -> tuple[list[VariantState], list[VariantState]]:
    """The states of an image's variants and of its analyses, read in one query."""

    def of(
        kind: int, model: type[Work], name: sa.orm.InstrumentedAttribute[str]
    ) -> sa.Select[int, str, Status, int]:
        return sa.select(
            sa.literal(kind).label("kind"), name, model.status, model.attempt_count
        ).where(model.image_id == image_id)

    rows = session.execute(
        sa.union_all(
            of(0, ImageVariant, ImageVariant.profile), of(1, ImageAnalysis, ImageAnalysis.analysis)
        )
    ).all()
    states: tuple[list[VariantState], list[VariantState]] = ([], [])
    for kind, label, status, attempts in rows:
        states[kind].append(VariantState(label, Status(status), attempts))
    return states


def _failures(variants: list[VariantState], analyses: list[VariantState]) -> str:
    parts = []
    for noun, states in (("Variants", variants), ("Analyses", analyses)):
        failed = sorted(s.profile for s in states if s.status is Status.FAILED)
        if failed:
            parts.append(f"{noun} failed: {', '.join(failed)}.")
    return " ".join(parts)


def release_leases(session: Session, model: type[Work], *, now: datetime) -> int:
    """Return every row in processing to pending; how many there were.

    Only for a process that knows it is the sole worker (embedded mode at start-up):
    whatever is still processing then was held by a previous run that is gone.
    """
    result = session.execute(
        sa.update(model)
        .where(model.status == Status.PROCESSING)
        .values(status=Status.PENDING, lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def find_stuck(
    session: Session, model: type[Work], *, pending_grace: timedelta, now: datetime, limit: int
) -> list[Work]:
    """Rows the reconciler should re-enqueue: leases expired, or pending too long.

    A pending row counts as stuck once `pending_grace` has passed since it was due (its
    retry time, or its last change when no retry is scheduled): its message was probably
    lost.
    """
    expired = sa.and_(
        model.status == Status.PROCESSING,
        sa.or_(model.lease_until.is_(None), model.lease_until < now),
    )
    due_at = sa.func.coalesce(model.next_attempt_at, model.updated_at)
    overdue = sa.and_(model.status == Status.PENDING, due_at < now - pending_grace)
    stmt = sa.select(model).where(sa.or_(expired, overdue))
    return list(session.scalars(stmt.order_by(model.updated_at, model.id).limit(limit)))


def requeue(
    session: Session, model: type[Work], row_id: str, *, now: datetime, **renewed: object
) -> str:
    """Give a row a fresh start (pending, no attempts yet), with `renewed` fields; its image."""
    image_id = image_id_of(session, model, row_id)
    session.execute(
        sa.update(model)
        .where(model.id == row_id)
        .values(
            status=Status.PENDING,
            attempt_count=0,
            error_msg=None,
            next_attempt_at=None,
            lease_until=None,
            updated_at=now,
            **renewed,
        )
    )
    refresh_image_status(session, image_id, now=now)
    return image_id


def image_id_of(session: Session, model: type[Work], row_id: str) -> str:
    """The image a row belongs to; NotFound if the row does not exist."""
    image_id = session.execute(
        sa.select(model.image_id).where(model.id == row_id)
    ).scalar_one_or_none()
    if image_id is None:
        raise NotFound(f"{_NOUN[model]} {row_id} not found.")
    return image_id


def count_by_status(session: Session, model: type[Work]) -> dict[Status, int]:
    """How many rows are in each status (every status present, zeros included)."""
    rows = session.execute(sa.select(model.status, sa.func.count()).group_by(model.status)).all()
    counts = {Status(status): count for status, count in rows}
    return {status: counts.get(status, 0) for status in Status}
