"""Direct uploads: signed, then completed into an image or swept once expired."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.schema import DirectUpload
from darkroom.errors import NotFound


def create_upload(
    session: Session,
    *,
    upload_id: str,
    owner_id: str | None,
    object_key: str,
    filename: str | None,
    content_type: str,
    declared_bytes: int,
    request: dict[str, Any],
    expires_at: datetime,
) -> DirectUpload:
    """Record a newly signed direct upload."""
    row = DirectUpload(
        id=upload_id,
        owner_id=owner_id,
        object_key=object_key,
        filename=filename,
        content_type=content_type,
        declared_bytes=declared_bytes,
        request=request,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row


def get_upload(
    session: Session, upload_id: str, *, owner_id: str | None = None, lock: bool = False
) -> DirectUpload:
    """The upload; NotFound if there is none (of `owner_id`, if given).

    With `lock`, the row stays locked until the transaction ends, so that two concurrent
    completions of one upload make one image.
    """
    stmt = sa.select(DirectUpload).where(DirectUpload.id == upload_id)
    if owner_id is not None:
        stmt = stmt.where(DirectUpload.owner_id == owner_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise NotFound(f"Upload {upload_id} not found (or it expired and was swept).")
    return row


def mark_completed(session: Session, upload_id: str, image_id: str) -> None:
    """Record the image an upload became."""
    session.execute(
        sa.update(DirectUpload).where(DirectUpload.id == upload_id).values(image_id=image_id)
    )


def expired(session: Session, before: datetime, *, limit: int = 500) -> list[DirectUpload]:
    """Uploads that expired before `before`, oldest first."""
    return list(
        session.execute(
            sa.select(DirectUpload)
            .where(DirectUpload.expires_at < before)
            .order_by(DirectUpload.expires_at)
            .limit(limit)
        ).scalars()
    )


def delete_upload(session: Session, upload_id: str) -> None:
    """Forget an upload (a missing one is not an error)."""
    session.execute(sa.delete(DirectUpload).where(DirectUpload.id == upload_id))
