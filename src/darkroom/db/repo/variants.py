"""Variant work state: atomic claims, completion, retries, and the image status they imply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from darkroom.db.repo._sql import rowcount
from darkroom.db.schema import Image, ImageVariant, Status, utcnow
from darkroom.errors import NotFound

_IN_FLIGHT = (Status.PENDING, Status.PROCESSING)


@dataclass(frozen=True)
class ImageStatusChange:
    """An image's status before and after one of its variants changed state."""

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
    """The fields of one variant that decide its image's status."""

    profile: str
    status: Status
    attempt_count: int


def image_status_for(variants: Sequence[VariantState]) -> Status:
    """The status an image has given its variants' states."""
    if any(v.status in _IN_FLIGHT for v in variants):
        untouched = all(v.status is Status.PENDING and v.attempt_count == 0 for v in variants)
        return Status.PENDING if untouched else Status.PROCESSING
    if any(v.status is Status.FAILED for v in variants):
        return Status.FAILED
    return Status.DONE


def claim_variant(
    session: Session, variant_id: str, *, lease: timedelta, now: datetime | None = None
) -> ImageVariant | None:
    """Take a variant for work (pending, or processing with an expired lease); None if taken.

    The claim is one conditional UPDATE checked by its row count, so of any number of
    workers racing for the same variant exactly one sees a row updated. The returned
    variant has its image loaded. NotFound if the variant does not exist.
    """
    now = now or utcnow()
    claimable = sa.or_(
        ImageVariant.status == Status.PENDING,
        sa.and_(
            ImageVariant.status == Status.PROCESSING,
            sa.or_(ImageVariant.lease_until.is_(None), ImageVariant.lease_until < now),
        ),
    )
    result = session.execute(
        sa.update(ImageVariant)
        .where(ImageVariant.id == variant_id, claimable)
        .values(
            status=Status.PROCESSING,
            attempt_count=ImageVariant.attempt_count + 1,
            lease_until=now + lease,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        _image_id_of(session, variant_id)
        return None
    claimed = session.execute(
        sa.select(ImageVariant)
        .options(joinedload(ImageVariant.image))
        .where(ImageVariant.id == variant_id)
        .execution_options(populate_existing=True)
    ).scalar_one()
    refresh_image_status(session, claimed.image_id, now=now)
    return claimed


def mark_variant_done(
    session: Session,
    variant_id: str,
    *,
    output_key: str,
    width: int,
    height: int,
    file_size: int,
    format: str,
    now: datetime | None = None,
) -> ImageStatusChange:
    """Record a variant's output and recompute its image's status in the same transaction."""
    return _finish(
        session,
        variant_id,
        now or utcnow(),
        status=Status.DONE,
        output_key=output_key,
        width=width,
        height=height,
        file_size=file_size,
        format=format,
        error_msg=None,
    )


def mark_variant_failed(
    session: Session, variant_id: str, *, error_msg: str, now: datetime | None = None
) -> ImageStatusChange:
    """Fail a variant for good (unless already done) and recompute its image's status."""
    return _finish(session, variant_id, now or utcnow(), status=Status.FAILED, error_msg=error_msg)


def retry_variant(
    session: Session,
    variant_id: str,
    *,
    error_msg: str,
    retry_at: datetime,
    now: datetime | None = None,
) -> ImageStatusChange:
    """Return a variant (unless already done) to pending, due again at `retry_at`."""
    return _finish(
        session,
        variant_id,
        now or utcnow(),
        status=Status.PENDING,
        error_msg=error_msg,
        next_attempt_at=retry_at,
    )


def refresh_image_status(
    session: Session, image_id: str, *, now: datetime | None = None
) -> ImageStatusChange:
    """Recompute an image's status from its variants, under a lock on the image row."""
    # Two workers finishing an image's last two variants at once must not both read the
    # other's variant as unfinished (write skew). Each has already updated its own
    # variant; locking the image row makes them read the variants one after the other,
    # so the second sees the first's commit. SQLite's single writer serialises anyway.
    found = session.execute(
        sa.select(Image.status, Image.callback_url).where(Image.id == image_id).with_for_update()
    ).one_or_none()
    if found is None:
        raise NotFound(f"Image {image_id} not found.")
    before, callback_url = found
    rows = session.execute(
        sa.select(ImageVariant.profile, ImageVariant.status, ImageVariant.attempt_count).where(
            ImageVariant.image_id == image_id
        )
    ).all()
    states = [VariantState(profile, status, attempts) for profile, status, attempts in rows]
    after = image_status_for(states)
    if after != before:
        failed = sorted(s.profile for s in states if s.status is Status.FAILED)
        error = f"Variants failed: {', '.join(failed)}." if after is Status.FAILED else None
        session.execute(
            sa.update(Image)
            .where(Image.id == image_id)
            .values(status=after, error=error, updated_at=now or utcnow())
        )
    return ImageStatusChange(image_id, before, after, callback_url)


def release_leases(session: Session, *, now: datetime | None = None) -> int:
    """Return every variant in processing to pending; how many there were.

    Only for a process that knows it is the sole worker (embedded mode at start-up):
    whatever is still processing then was held by a previous run that is gone.
    """
    result = session.execute(
        sa.update(ImageVariant)
        .where(ImageVariant.status == Status.PROCESSING)
        .values(status=Status.PENDING, lease_until=None, updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def find_stuck_variants(
    session: Session,
    *,
    pending_grace: timedelta,
    now: datetime | None = None,
    limit: int = 500,
) -> list[ImageVariant]:
    """Variants the reconciler should re-enqueue: leases expired, or pending too long.

    A pending variant counts as stuck once `pending_grace` has passed since it was due
    (its retry time, or its last change when no retry is scheduled): its message was
    probably lost.
    """
    now = now or utcnow()
    expired = sa.and_(
        ImageVariant.status == Status.PROCESSING,
        sa.or_(ImageVariant.lease_until.is_(None), ImageVariant.lease_until < now),
    )
    due_at = sa.func.coalesce(ImageVariant.next_attempt_at, ImageVariant.updated_at)
    overdue = sa.and_(ImageVariant.status == Status.PENDING, due_at < now - pending_grace)
    stmt = sa.select(ImageVariant).where(sa.or_(expired, overdue))
    return list(
        session.scalars(stmt.order_by(ImageVariant.updated_at, ImageVariant.id).limit(limit))
    )


def _finish(
    session: Session, variant_id: str, now: datetime, **values: object
) -> ImageStatusChange:
    image_id = _image_id_of(session, variant_id)
    stmt = sa.update(ImageVariant).where(ImageVariant.id == variant_id)
    if values["status"] is not Status.DONE:
        # A worker whose lease ran out may report a failure after another worker already
        # finished the variant; the output exists, so the late report must not undo it.
        stmt = stmt.where(ImageVariant.status != Status.DONE)
    session.execute(stmt.values(lease_until=None, updated_at=now, **values))
    return refresh_image_status(session, image_id, now=now)


def _image_id_of(session: Session, variant_id: str) -> str:
    image_id = session.execute(
        sa.select(ImageVariant.image_id).where(ImageVariant.id == variant_id)
    ).scalar_one_or_none()
    if image_id is None:
        raise NotFound(f"Variant {variant_id} not found.")
    return image_id


def requeue_variant(
    session: Session,
    variant_id: str,
    *,
    spec: dict[str, Any] | None = None,
    spec_hash: str | None = None,
    now: datetime | None = None,
) -> str:
    """Give a variant a fresh start (pending, no attempts yet), to replay it or, with a new
    `spec`, to render it again; its image's id. The old output stays until the new one is
    recorded, so that it can be replaced (and purged) then."""
    now = now or utcnow()
    image_id = _image_id_of(session, variant_id)
    renewed = {} if spec is None else {"spec": spec, "spec_hash": spec_hash}
    session.execute(
        sa.update(ImageVariant)
        .where(ImageVariant.id == variant_id)
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


def stale_variants(
    session: Session, profile: str, spec_hash: str, *, after_id: str | None = None, limit: int = 500
) -> list[str]:
    """Ids of `profile`'s variants made with another spec than `spec_hash`, in id order."""
    stmt = sa.select(ImageVariant.id).where(
        ImageVariant.profile == profile, ImageVariant.spec_hash != spec_hash
    )
    if after_id is not None:
        stmt = stmt.where(ImageVariant.id > after_id)
    return list(session.scalars(stmt.order_by(ImageVariant.id).limit(limit)))


def count_by_status(session: Session) -> dict[Status, int]:
    """How many variants are in each status (every status present, zeros included)."""
    rows = session.execute(
        sa.select(ImageVariant.status, sa.func.count()).group_by(ImageVariant.status)
    ).all()
    counts = {Status(status): count for status, count in rows}
    return {status: counts.get(status, 0) for status in Status}
