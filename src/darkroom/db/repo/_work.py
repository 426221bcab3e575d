"""The work state shared by variants and analyses: claims, completion, retries, recovery,
and the image status they imply together."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from darkroom.db.repo._sql import rowcount
from darkroom.db.schema import Base, Image, ImageAnalysis, ImageVariant, Status, utcnow
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


# The statements of the work's hot path (every upload's variants are claimed, recorded and
# their image's status recomputed) are built once, with bound parameters, on the tables
# rather than the mapped classes: building, hashing and ORM-compiling a statement each
# time cost SQLAlchemy about 6x what executing it costs SQLite, most of the database time
# of each image (docs/benchmarks.md, eager pipeline).


def table(model: type[Base]) -> sa.Table:
    """The table a class is mapped to."""
    return cast(sa.Table, model.__table__)


def taking(model: type[Work], which: sa.ColumnElement[bool]) -> sa.Update:
    """The UPDATE that takes the rows `which` for work; its parameters are `lease_to`, the
    end of the lease, and `at`, now."""
    rows = table(model)
    return (
        sa.update(rows)
        .where(which)
        .values(
            status=Status.PROCESSING,
            attempt_count=rows.c.attempt_count + 1,
            lease_until=sa.bindparam("lease_to", type_=rows.c.lease_until.type),
            updated_at=sa.bindparam("at", type_=rows.c.updated_at.type),
        )
    )


def taking_params(*, lease: timedelta, now: datetime) -> dict[str, datetime]:
    """The parameters of a `taking` statement."""
    return {"lease_to": now + lease, "at": now}


@functools.cache
def _take_one(model: type[Work]) -> sa.UpdateBase:
    rows = table(model)
    at = sa.bindparam("at", type_=rows.c.updated_at.type)
    claimable = sa.or_(
        rows.c.status == Status.PENDING,
        sa.and_(
            rows.c.status == Status.PROCESSING,
            sa.or_(rows.c.lease_until.is_(None), rows.c.lease_until < at),
        ),
    )
    which = sa.and_(rows.c.id == sa.bindparam("row_id"), claimable)
    return taking(model, which).returning(rows.c.image_id)


def take(
    session: Session, model: type[Work], row_id: str, *, lease: timedelta, now: datetime
) -> str | None:
    """Take a row for work (pending, or processing with an expired lease): its image's id,
    or None if another worker has it. NotFound if the row does not exist.

    One conditional UPDATE: of any number of workers racing for the same row exactly one
    sees it updated.
    """
    params = {"row_id": row_id, **taking_params(lease=lease, now=now)}
    image_id: str | None = session.execute(_take_one(model), params).scalar_one_or_none()
    if image_id is None:
        image_id_of(session, model, row_id)
    return image_id


@functools.cache
def _loaded(model: type[Work]) -> sa.Select[Work]:
    return (
        sa.select(model)
        .options(joinedload(model.image))
        .where(model.id.in_(sa.bindparam("ids", expanding=True)))
        .execution_options(populate_existing=True)
    )


def loaded(session: Session, model: type[Work], ids: Sequence[str]) -> list[Work]:
    """The rows `ids`, read anew, with their image loaded."""
    return list(session.scalars(_loaded(model), {"ids": list(ids)}).all())


def claim(
    session: Session, model: type[Work], row_id: str, *, lease: timedelta, now: datetime
) -> Work | None:
    """Take a row for work (`take`) and return it with its image loaded; None if taken."""
    image_id = take(session, model, row_id, lease=lease, now=now)
    if image_id is None:
        return None
    (claimed,) = loaded(session, model, [row_id])
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


@functools.cache
def _image_for_update() -> sa.Select[Status, str | None]:
    images = table(Image)
    return (
        sa.select(images.c.status, images.c.callback_url)
        .where(images.c.id == sa.bindparam("image_id"))
        .with_for_update()
    )


@functools.cache
def _set_image_status() -> sa.Update:
    images = table(Image)
    return (
        sa.update(images)
        .where(images.c.id == sa.bindparam("image_id"))
        .values(
            status=sa.bindparam("to", type_=images.c.status.type),
            error=sa.bindparam("failures", type_=images.c.error.type),
            updated_at=sa.bindparam("at", type_=images.c.updated_at.type),
        )
    )


def refresh_image_status(
    session: Session, image_id: str, *, now: datetime | None = None
) -> ImageStatusChange:
    """Recompute an image's status from its variants and analyses, under a lock on the image."""
    # Two workers finishing an image's last two pieces of work at once must not both read
    # the other's as unfinished (write skew). Each has already updated its own row;
    # locking the image row makes them read one after the other, so the second sees the
    # first's commit. SQLite's single writer serialises anyway.
    found = session.execute(_image_for_update(), {"image_id": image_id}).one_or_none()
    if found is None:
        raise NotFound(f"Image {image_id} not found.")
    before, callback_url = found
    variants, analyses = _states(session, image_id)
    after = image_status_for([*variants, *analyses])
    if after != before:
        error = _failures(variants, analyses) if after is Status.FAILED else None
        at = now or utcnow()
        values = {"image_id": image_id, "to": after, "failures": error, "at": at}
        session.execute(_set_image_status(), values)
        # The image may be loaded in this session (a claim's rows come with theirs): it
        # shows what the database now holds, as the ORM's own UPDATE would have made it.
        image = session.identity_map.get(identity_key(Image, image_id))
        if image is not None:
            for name, value in (("status", after), ("error", error), ("updated_at", at)):
                set_committed_value(image, name, value)
    return ImageStatusChange(image_id, before, after, callback_url)


@functools.cache
def _work_states() -> sa.CompoundSelect[int, str, Status, int]:
    def of(kind: int, rows: sa.Table, name: str) -> sa.Select[int, str, Status, int]:
        return sa.select(
            sa.literal(kind).label("kind"), rows.c[name], rows.c.status, rows.c.attempt_count
        ).where(rows.c.image_id == sa.bindparam("image_id"))

    return sa.union_all(
        of(0, table(ImageVariant), "profile"), of(1, table(ImageAnalysis), "analysis")
    )


def _states(session: Session, image_id: str) -> tuple[list[VariantState], list[VariantState]]:
    """The states of an image's variants and of its analyses, read in one query."""
    rows = session.execute(_work_states(), {"image_id": image_id}).all()
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


@functools.cache
def _image_id_of(model: type[Work]) -> sa.Select[str]:
    rows = table(model)
    return sa.select(rows.c.image_id).where(rows.c.id == sa.bindparam("row_id"))


def image_id_of(session: Session, model: type[Work], row_id: str) -> str:
    """The image a row belongs to; NotFound if the row does not exist."""
    image_id = session.execute(_image_id_of(model), {"row_id": row_id}).scalar_one_or_none()
    if image_id is None:
        raise NotFound(f"{_NOUN[model]} {row_id} not found.")
    return image_id


def count_by_status(session: Session, model: type[Work]) -> dict[Status, int]:
    """How many rows are in each status (every status present, zeros included)."""
    rows = session.execute(sa.select(model.status, sa.func.count()).group_by(model.status)).all()
    counts = {Status(status): count for status, count in rows}
    return {status: counts.get(status, 0) for status in Status}
