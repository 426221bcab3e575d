"""Named transformation profiles, versioned so that only a real change bumps the version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.repo._sql import flush_or_conflict, rowcount
from darkroom.db.schema import Profile, utcnow
from darkroom.errors import Conflict, NotFound


def get_profile(session: Session, name: str) -> Profile:
    """The profile called `name`; NotFound if there is none."""
    profile = session.get(Profile, name, populate_existing=True)
    if profile is None:
        raise NotFound(f"Profile {name} not found.")
    return profile


def list_profiles(session: Session) -> list[Profile]:
    """Every profile, by name."""
    return list(session.scalars(sa.select(Profile).order_by(Profile.name)))


def put_profile(
    session: Session, name: str, spec: Mapping[str, Any], *, now: datetime | None = None
) -> Profile:
    """Create a profile at version 1, or replace its spec and bump the version if it differs.

    Conflict if another writer created or changed the same profile concurrently.
    """
    now = now or utcnow()
    # Compare what the database would hand back (lists, not tuples; JSON types only),
    # so re-sending the same spec is recognised as no change.
    canonical: dict[str, Any] = json.loads(json.dumps(spec))
    existing = session.get(Profile, name, populate_existing=True)
    if existing is None:
        profile = Profile(name=name, spec=canonical, version=1, created_at=now, updated_at=now)
        session.add(profile)
        flush_or_conflict(session, f"Profile {name} was created concurrently; retry.")
        return profile
    if existing.spec == canonical:
        return existing
    # Optimistic concurrency: the UPDATE only applies to the version we compared against.
    result = session.execute(
        sa.update(Profile)
        .where(Profile.name == name, Profile.version == existing.version)
        .values(spec=canonical, version=Profile.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise Conflict(f"Profile {name} was changed concurrently; retry.")
    return get_profile(session, name)


def delete_profile(session: Session, name: str) -> None:
    """Delete the profile called `name`; NotFound if there is none.

    Variants already made with it keep their own copy of the spec.
    """
    result = session.execute(
        sa.delete(Profile).where(Profile.name == name).execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise NotFound(f"Profile {name} not found.")
