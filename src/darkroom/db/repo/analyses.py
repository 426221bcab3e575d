"""Analysis work state: rows per (image, analysis), claims, results, retries, recovery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.ids import new_id
from darkroom.db.repo import _work
from darkroom.db.repo._work import ImageStatusChange, refresh_image_status
from darkroom.db.schema import Image, ImageAnalysis, Status, utcnow
from darkroom.errors import NotFound


def new_analysis_row(name: str, now: datetime, *, image_id: str | None = None) -> ImageAnalysis:
    """A pending analysis row (of `image_id`, or of the image it is appended to)."""
    row = ImageAnalysis(
        id=new_id(),
        analysis=name,
        status=Status.PENDING,
        attempt_count=0,
        created_at=now,
        updated_at=now,
    )
    if image_id is not None:
        row.image_id = image_id
    return row


def request_analyses(
    session: Session, image_id: str, names: Sequence[str], *, now: datetime | None = None
) -> list[ImageAnalysis]:
    """Ask for `names` on an image: new rows for new names, a fresh start for failed ones.

    Done and running analyses are left alone (asking twice is not an error). Returns the
    rows that are now pending because of this call.
    """
    now = now or utcnow()
    # The image row first, so that concurrent requests for the same name serialise.
    exists = session.execute(
        sa.select(Image.id).where(Image.id == image_id).with_for_update()
    ).scalar_one_or_none()
    if exists is None:
        raise NotFound(f"Image {image_id} not found.")
    current = {
        row.analysis: row
        for row in session.scalars(
            sa.select(ImageAnalysis).where(ImageAnalysis.image_id == image_id)
        )
    }
    pending = []
    for name in sorted(set(names)):
        row = current.get(name)
        if row is None:
            row = new_analysis_row(name, now, image_id=image_id)
            session.add(row)
            pending.append(row)
        elif row.status is Status.FAILED:
            _work.requeue(session, ImageAnalysis, row.id, now=now)
            pending.append(row)
    session.flush()
    refresh_image_status(session, image_id, now=now)
    return pending


def claim_analysis(
    session: Session, analysis_id: str, *, lease: timedelta, now: datetime | None = None
) -> ImageAnalysis | None:
    """Take an analysis for work; None if another worker has it. NotFound if it is gone."""
    return _work.claim(session, ImageAnalysis, analysis_id, lease=lease, now=now or utcnow())


def mark_analysis_done(
    session: Session,
    analysis_id: str,
    *,
    result: dict[str, Any],
    model_name: str,
    model_version: str,
    duration_ms: int,
    now: datetime | None = None,
) -> ImageStatusChange:
    """Record an analysis's result and recompute its image's status."""
    return _work.finish(
        session,
        ImageAnalysis,
        analysis_id,
        now or utcnow(),
        status=Status.DONE,
        result=result,
        model_name=model_name,
        model_version=model_version,
        duration_ms=duration_ms,
        error_msg=None,
    )


def mark_analysis_failed(
    session: Session, analysis_id: str, *, error_msg: str, now: datetime | None = None
) -> ImageStatusChange:
    """Fail an analysis for good (unless already done) and recompute its image's status."""
    return _work.finish(
        session,
        ImageAnalysis,
        analysis_id,
        now or utcnow(),
        status=Status.FAILED,
        error_msg=error_msg,
    )


def retry_analysis(
    session: Session,
    analysis_id: str,
    *,
    error_msg: str,
    retry_at: datetime,
    now: datetime | None = None,
) -> ImageStatusChange:
    """Return an analysis (unless already done) to pending, due again at `retry_at`."""
    return _work.finish(
        session,
        ImageAnalysis,
        analysis_id,
        now or utcnow(),
        status=Status.PENDING,
        error_msg=error_msg,
        next_attempt_at=retry_at,
    )


def requeue_analysis(session: Session, analysis_id: str, *, now: datetime | None = None) -> str:
    """Give an analysis a fresh start (a dead letter replayed); its image's id."""
    return _work.requeue(session, ImageAnalysis, analysis_id, now=now or utcnow())


def release_leases(session: Session, *, now: datetime | None = None) -> int:
    """Return every analysis in processing to pending (sole worker at start-up); how many."""
    return _work.release_leases(session, ImageAnalysis, now=now or utcnow())


def find_stuck_analyses(
    session: Session,
    *,
    pending_grace: timedelta,
    now: datetime | None = None,
    limit: int = 500,
) -> list[ImageAnalysis]:
    """Analyses the reconciler should re-enqueue: leases expired, or pending too long."""
    return _work.find_stuck(
        session, ImageAnalysis, pending_grace=pending_grace, now=now or utcnow(), limit=limit
    )


def count_by_status(session: Session) -> dict[Status, int]:
    """How many analyses are in each status (every status present, zeros included)."""
    return _work.count_by_status(session, ImageAnalysis)


def pending_by_analysis(session: Session) -> dict[str, int]:
    """How many analyses of each kind wait to be run (only kinds with some)."""
    rows = session.execute(
        sa.select(ImageAnalysis.analysis, sa.func.count())
        .where(ImageAnalysis.status == Status.PENDING)
        .group_by(ImageAnalysis.analysis)
    ).all()
    return {str(name): int(count) for name, count in rows}
