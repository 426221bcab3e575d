"""Profiles: versioned specs where only a real change bumps the version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import transaction
from darkroom.db.repo import profiles as profile_rows
from darkroom.errors import Conflict, NotFound
from tests.unit.db.factories import run_together

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
THUMB = {"width": 200, "height": 200, "fit": "cover", "format": "webp", "crop": [0, 0, 10, 10]}


def test_a_new_profile_starts_at_version_1(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        created = profile_rows.put_profile(session, "thumb", THUMB, now=T0)
    with transaction(db_sessions) as session:
        stored = profile_rows.get_profile(session, "thumb")
    assert (created.version, stored.version) == (1, 1)
    assert stored.spec == THUMB
    assert stored.created_at == stored.updated_at == T0


def test_putting_the_same_spec_again_changes_nothing(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        profile_rows.put_profile(session, "thumb", THUMB, now=T0)
    # Same content, different spelling: key order and a tuple where JSON has a list.
    respelled = dict(reversed(THUMB.items())) | {"crop": (0, 0, 10, 10)}
    with transaction(db_sessions) as session:
        again = profile_rows.put_profile(session, "thumb", respelled, now=T0 + timedelta(hours=1))
    assert (again.version, again.updated_at) == (1, T0)
    with transaction(db_sessions) as session:
        assert profile_rows.get_profile(session, "thumb").version == 1


def test_a_changed_spec_bumps_the_version_each_time(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        profile_rows.put_profile(session, "thumb", THUMB, now=T0)
    later = T0 + timedelta(hours=1)
    with transaction(db_sessions) as session:
        changed = profile_rows.put_profile(session, "thumb", THUMB | {"width": 300}, now=later)
    assert (changed.version, changed.spec["width"], changed.updated_at) == (2, 300, later)
    assert changed.created_at == T0
    with transaction(db_sessions) as session:
        assert profile_rows.put_profile(session, "thumb", THUMB).version == 3
        assert profile_rows.put_profile(session, "thumb", THUMB).version == 3


def test_profiles_are_listed_by_name_and_can_be_deleted(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        for name in ("webp_800", "avatar", "thumb"):
            profile_rows.put_profile(session, name, THUMB)
    with transaction(db_sessions) as session:
        assert [p.name for p in profile_rows.list_profiles(session)] == [
            "avatar",
            "thumb",
            "webp_800",
        ]
        profile_rows.delete_profile(session, "thumb")
    with transaction(db_sessions) as session:
        assert [p.name for p in profile_rows.list_profiles(session)] == ["avatar", "webp_800"]
        with pytest.raises(NotFound):
            profile_rows.get_profile(session, "thumb")
        with pytest.raises(NotFound):
            profile_rows.delete_profile(session, "thumb")


def test_concurrent_changes_are_never_lost(db_sessions: sessionmaker[Session]) -> None:
    with transaction(db_sessions) as session:
        profile_rows.put_profile(session, "thumb", THUMB)

    def change(width: int) -> int:
        with transaction(db_sessions) as session:
            return profile_rows.put_profile(session, "thumb", THUMB | {"width": width}).version

    results = run_together([partial(change, w) for w in range(301, 307)])
    versions = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if not isinstance(r, int)]
    assert all(isinstance(r, Conflict) for r in refused), refused
    # Every accepted change got its own version: none overwrote another unseen.
    assert sorted(versions) == list(range(2, 2 + len(versions)))
    with transaction(db_sessions) as session:
        final = profile_rows.get_profile(session, "thumb")
    assert final.version == 1 + len(versions)
