"""The index of cached on-demand renders: sizes and last access, for LRU eviction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.repo._sql import rowcount
from darkroom.db.schema import RenderCacheEntry, utcnow


def touch_cache_entry(session: Session, key: str, *, now: datetime | None = None) -> bool:
    """Record a cache hit; False if the entry is not indexed (then treat it as a miss)."""
    result = session.execute(
        sa.update(RenderCacheEntry)
        .where(RenderCacheEntry.key == key)
        .values(last_access=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def add_cache_entry(
    session: Session, key: str, *, image_id: str, size: int, now: datetime | None = None
) -> None:
    """Index a stored render (or refresh it, if another request stored it meanwhile)."""
    now = now or utcnow()
    if not touch_cache_entry(session, key, now=now):
        session.add(
            RenderCacheEntry(key=key, image_id=image_id, size=size, last_access=now, created_at=now)
        )
        session.flush()


def cache_size(session: Session) -> int:
    """Bytes held by every indexed render."""
    total = session.scalar(sa.select(sa.func.sum(RenderCacheEntry.size)))
    return int(total or 0)


def least_recently_used(session: Session, *, limit: int) -> list[RenderCacheEntry]:
    """The entries served longest ago, first."""
    stmt = sa.select(RenderCacheEntry).order_by(RenderCacheEntry.last_access, RenderCacheEntry.key)
    return list(session.scalars(stmt.limit(limit)))


def cache_keys_of_image(session: Session, image_id: str) -> list[str]:
    """Keys of every render cached for one image."""
    stmt = sa.select(RenderCacheEntry.key).where(RenderCacheEntry.image_id == image_id)
    return list(session.scalars(stmt))


def delete_cache_entries(session: Session, keys: Sequence[str]) -> None:
    """Forget these entries (their objects are the caller's to delete)."""
    if keys:
        session.execute(
            sa.delete(RenderCacheEntry)
            .where(RenderCacheEntry.key.in_(list(keys)))
            .execution_options(synchronize_session=False)
        )
