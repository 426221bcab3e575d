"""Variant work state: atomic claims, completion, retries, and the image status they imply."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.repo import _work
from darkroom.db.repo._work import (
    ImageStatusChange,
    VariantState,
    image_status_for,
    refresh_image_status,
)
from darkroom.db.schema import ImageVariant, Status, utcnow

__all__ = [
    "ImageStatusChange",
    "VariantOutput",
    "VariantState",
    "claim_group",
    "claim_variant",
    "count_by_status",
    "find_stuck_variants",
    "image_id_of_variant",
    "image_status_for",
    "mark_variant_failed",
    "mark_variants_done",
    "refresh_image_status",
    "release_leases",
    "requeue_variant",
    "retry_variant",
    "stale_variants",
]


def claim_variant(
    session: Session, variant_id: str, *, lease: timedelta, now: datetime | None = None
) -> ImageVariant | None:
    """Take a variant for work (pending, or processing with an expired lease); None if taken.

    The claim is one conditional UPDATE checked by its row count, so of any number of
    workers racing for the same variant exactly one sees a row updated. The returned
    variant has its image loaded. NotFound if the variant does not exist.
    """
    return _work.claim(session, ImageVariant, variant_id, lease=lease, now=now or utcnow())


def image_id_of_variant(session: Session, variant_id: str) -> str:
    """The image a variant belongs to; NotFound if the variant does not exist."""
    return _work.image_id_of(session, ImageVariant, variant_id)


def claim_group(
    session: Session, variant_id: str, *, lease: timedelta, now: datetime | None = None
) -> tuple[ImageVariant | None, list[ImageVariant]]:
    """Claim a variant (as `claim_variant`) and its image's other variants that are pending
    and due now (not waiting out a retry delay), in one transaction: the work one worker
    does from one decode. The variant is None when another worker has it; its siblings
    are claimed all the same. The image's status is recomputed once.

    Locks are taken as a single claim takes them, variant rows first and the image last,
    and the siblings' rows are skipped when locked, never waited for: a worker claiming
    one of them alone can neither deadlock with this claim nor be blocked by it. The
    claimed variants have their image loaded, siblings in profile order. NotFound if the
    variant does not exist.
    """
    now = now or utcnow()
    image_id = _work.take(session, ImageVariant, variant_id, lease=lease, now=now)
    won = image_id is not None
    if image_id is None:
        image_id = image_id_of_variant(session, variant_id)
    taken = ([variant_id] if won else []) + _claim_due(session, image_id, variant_id, lease, now)
    if not taken:
        return None, []
    claimed = sorted(_work.loaded(session, ImageVariant, taken), key=lambda v: v.profile)
    refresh_image_status(session, image_id, now=now)
    mine = next((v for v in claimed if v.id == variant_id), None)
    return mine, [v for v in claimed if v.id != variant_id]


@functools.cache
def _due_siblings() -> sa.Select[str]:
    rows = _work.table(ImageVariant)
    return (
        sa.select(rows.c.id)
        .where(
            rows.c.image_id == sa.bindparam("image_id"),
            rows.c.id != sa.bindparam("exclude"),
            rows.c.status == Status.PENDING,
            sa.or_(rows.c.next_attempt_at.is_(None), rows.c.next_attempt_at <= sa.bindparam("at")),
        )
        .order_by(rows.c.id)
        .with_for_update(skip_locked=True)
    )


@functools.cache
def _take_pending() -> sa.UpdateBase:
    rows = _work.table(ImageVariant)
    still_pending = sa.and_(
        rows.c.id.in_(sa.bindparam("ids", expanding=True)), rows.c.status == Status.PENDING
    )
    return _work.taking(ImageVariant, still_pending).returning(rows.c.id)


def _claim_due(
    session: Session, image_id: str, exclude: str, lease: timedelta, now: datetime
) -> list[str]:
    """Claim the image's due pending variants but `exclude`, skipping locked rows; their ids."""
    params = {"image_id": image_id, "exclude": exclude, "at": now}
    due = session.scalars(_due_siblings(), params).all()
    if not due:
        return []
    params = {"ids": list(due), **_work.taking_params(lease=lease, now=now)}
    return list(session.scalars(_take_pending(), params).all())


@dataclass(frozen=True)
class VariantOutput:
    """A variant's stored render, to record."""

    variant_id: str
    output_key: str
    width: int
    height: int
    file_size: int
    format: str


def mark_variants_done(
    session: Session,
    image_id: str,
    outputs: Sequence[VariantOutput],
    *,
    now: datetime | None = None,
) -> ImageStatusChange:
    """Record several variants' outputs, all of `image_id`, and recompute its status once.

    NotFound if the image no longer exists (deleted while they rendered).
    """
    now = now or utcnow()
    rows = [
        {
            "variant_id": o.variant_id,
            "of_image": image_id,
            "key": o.output_key,
            "output_width": o.width,
            "output_height": o.height,
            "size": o.file_size,
            "output_format": o.format,
            "at": now,
        }
        for o in outputs
    ]
    if rows:
        session.execute(_record_done(), rows)
    return refresh_image_status(session, image_id, now=now)


@functools.cache
def _record_done() -> sa.Update:
    # On the table, not the mapped class: a list of parameter sets is then one
    # executemany, rather than the ORM's bulk update by primary key.
    rows = _work.table(ImageVariant)
    return (
        sa.update(rows)
        .where(rows.c.id == sa.bindparam("variant_id"), rows.c.image_id == sa.bindparam("of_image"))
        .values(
            status=Status.DONE,
            output_key=sa.bindparam("key"),
            width=sa.bindparam("output_width"),
            height=sa.bindparam("output_height"),
            file_size=sa.bindparam("size"),
            format=sa.bindparam("output_format"),
            error_msg=None,
            lease_until=None,
            updated_at=sa.bindparam("at"),
        )
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


def release_leases(session: Session, *, now: datetime | None = None) -> int:
    """Return every variant in processing to pending; how many there were.

    Only for a process that knows it is the sole worker (embedded mode at start-up):
    whatever is still processing then was held by a previous run that is gone.
    """
    return _work.release_leases(session, ImageVariant, now=now or utcnow())


def find_stuck_variants(
    session: Session,
    *,
    pending_grace: timedelta,
    now: datetime | None = None,
    limit: int = 500,
) -> list[ImageVariant]:
    """Variants the reconciler should re-enqueue: leases expired, or pending too long."""
    return _work.find_stuck(
        session, ImageVariant, pending_grace=pending_grace, now=now or utcnow(), limit=limit
    )


def _finish(
    session: Session, variant_id: str, now: datetime, **values: object
) -> ImageStatusChange:
    return _work.finish(session, ImageVariant, variant_id, now, **values)


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
    renewed = {} if spec is None else {"spec": spec, "spec_hash": spec_hash}
    return _work.requeue(session, ImageVariant, variant_id, now=now or utcnow(), **renewed)


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
    return _work.count_by_status(session, ImageVariant)
