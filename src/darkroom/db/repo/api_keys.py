"""API keys: stored by hash, found by hash, listed and revoked."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.ids import new_id
from darkroom.db.repo._sql import rowcount
from darkroom.db.schema import ApiKey, utcnow
from darkroom.errors import Conflict, NotFound


def add_key(
    session: Session, *, key_hash: str, prefix: str, owner_id: str, role: str, name: str | None
) -> ApiKey:
    """Store a new key's hash with its owner and role."""
    key = ApiKey(
        id=new_id(),
        key_hash=key_hash,
        prefix=prefix,
        owner_id=owner_id,
        role=role,
        name=name,
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key


def find_active_key(session: Session, key_hash: str) -> ApiKey | None:
    """The unrevoked key with this hash, if any."""
    stmt = sa.select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    return session.scalars(stmt).one_or_none()


def find_key(session: Session, key_id: str) -> ApiKey | None:
    """The key with this id, revoked or not, if any."""
    return session.get(ApiKey, key_id, populate_existing=True)


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    """Every key, oldest first; revoked ones only on request."""
    stmt = sa.select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def any_active_key(session: Session) -> bool:
    """Whether at least one unrevoked key exists (then every protected route needs one)."""
    stmt = sa.select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)
    return session.execute(stmt).first() is not None


def revoke_key(session: Session, key_id: str, *, now: datetime | None = None) -> ApiKey:
    """Revoke a key for good; Conflict if it already is, NotFound if there is none."""
    result = session.execute(
        sa.update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    key = session.get(ApiKey, key_id, populate_existing=True)
    if key is None:
        raise NotFound(f"API key {key_id} not found.")
    if rowcount(result) != 1:
        raise Conflict(f"API key {key_id} is already revoked.")
    return key
