"""Reference logos: one row per name, replaced in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.schema import Logo, utcnow
from darkroom.errors import NotFound


@dataclass(frozen=True)
class NewLogo:
    """What is recorded of a logo image."""

    image_key: str
    sha256: str
    mime_type: str
    file_size: int
    width: int
    height: int
    features: int


def put_logo(
    session: Session, name: str, logo: NewLogo, *, now: datetime | None = None
) -> tuple[Logo, str | None]:
    """Create or replace the logo `name`; it and the image key it replaced (or None)."""
    now = now or utcnow()
    row = session.execute(
        sa.select(Logo).where(Logo.name == name).with_for_update()
    ).scalar_one_or_none()
    replaced = None
    if row is None:
        row = Logo(name=name, created_at=now)
        session.add(row)
    elif row.image_key != logo.image_key:
        replaced = row.image_key
    row.image_key = logo.image_key
    row.sha256 = logo.sha256
    row.mime_type = logo.mime_type
    row.file_size = logo.file_size
    row.width = logo.width
    row.height = logo.height
    row.features = logo.features
    row.updated_at = now
    session.flush()
    return row, replaced


def get_logo(session: Session, name: str) -> Logo:
    """The logo `name`; NotFound if there is none."""
    row = session.get(Logo, name)
    if row is None:
        raise NotFound(f"Logo {name!r} not found.")
    return row


def list_logos(session: Session) -> list[Logo]:
    """Every logo, by name."""
    return list(session.scalars(sa.select(Logo).order_by(Logo.name)))


def delete_logo(session: Session, name: str) -> Logo:
    """Delete the logo `name` and return its row (for its image); NotFound if none."""
    row = get_logo(session, name)
    session.delete(row)
    session.flush()
    return row
