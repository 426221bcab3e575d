"""Engines: SQLite tuning, UTC timestamps on both backends, and wrapped connection errors."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import create_engine, db_errors, session_factory, transaction
from darkroom.db.migrate import upgrade
from darkroom.db.repo import profiles as profile_rows
from darkroom.db.schema import Profile
from darkroom.errors import DatabaseUnavailable


def _closed_port() -> int:
    # Bind then close: the kernel just handed this port out, so nothing listens on it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_sqlite_creates_the_directory_and_enables_wal_foreign_keys_and_busy_timeout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nested" / "deeper" / "darkroom.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert path.is_file()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}


def test_in_memory_sqlite_is_one_database_shared_by_every_thread() -> None:
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_bare_postgresql_scheme_selects_psycopg_3(scheme: str) -> None:
    engine = create_engine(f"{scheme}://user@127.0.0.1:5432/darkroom")
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL scheme 'mysql'"):
        create_engine("mysql://user@localhost/darkroom")


def test_unreachable_postgresql_raises_database_unavailable_on_use() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/darkroom"
    engine = create_engine(url)
    try:
        with (
            pytest.raises(DatabaseUnavailable) as caught,
            transaction(session_factory(engine)) as session,
        ):
            profile_rows.list_profiles(session)
    finally:
        engine.dispose()
    assert isinstance(caught.value.__cause__, sa_exc.OperationalError)
    # The public message never carries driver text (host names, ports, paths).
    assert caught.value.message == DatabaseUnavailable.default_message


def test_unreachable_postgresql_raises_database_unavailable_from_upgrade() -> None:
    with pytest.raises(DatabaseUnavailable):
        upgrade(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/darkroom")


def test_unopenable_sqlite_file_raises_database_unavailable(tmp_path: Path) -> None:
    (tmp_path / "darkroom.db").mkdir()
    with pytest.raises(DatabaseUnavailable) as caught:
        upgrade(f"sqlite:///{tmp_path / 'darkroom.db'}")
    assert isinstance(caught.value.__cause__, sa_exc.OperationalError)


def test_uncreatable_sqlite_directory_raises_database_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(DatabaseUnavailable) as caught:
        create_engine(f"sqlite:///{tmp_path / 'file' / 'darkroom.db'}")
    assert isinstance(caught.value.__cause__, NotADirectoryError | FileExistsError)


def test_db_errors_leaves_other_errors_alone() -> None:
    with pytest.raises(sa_exc.IntegrityError), db_errors():
        raise sa_exc.IntegrityError("INSERT", {}, Exception("duplicate"))


def test_transaction_commits_on_success_and_rolls_back_on_error(
    db_sessions: sessionmaker[Session],
) -> None:
    with transaction(db_sessions) as session:
        profile_rows.put_profile(session, "kept", {"width": 1})

    def put_then_fail() -> None:
        with transaction(db_sessions) as session:
            profile_rows.put_profile(session, "dropped", {"width": 2})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        put_then_fail()
    with transaction(db_sessions) as session:
        assert [p.name for p in profile_rows.list_profiles(session)] == ["kept"]


def test_timestamps_come_back_aware_in_utc_and_compare_correctly(
    db_sessions: sessionmaker[Session],
) -> None:
    # Stored from another zone, read back as the same instant in UTC on both backends.
    plus_five = timezone(timedelta(hours=5))
    written = datetime(2026, 3, 1, 17, 30, 15, 123456, tzinfo=plus_five)
    with transaction(db_sessions) as session:
        profile_rows.put_profile(session, "p", {"width": 1}, now=written)
    with transaction(db_sessions) as session:
        profile = profile_rows.get_profile(session, "p")
        assert profile.created_at == written
        assert profile.created_at.tzinfo is UTC
        assert profile.created_at.hour == 12
        # The SQL comparison agrees with Python's, across zones.
        just_before = datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
        later = session.scalars(sa.select(Profile.name).where(Profile.created_at > just_before))
        assert list(later) == ["p"]


def test_naive_datetimes_are_refused(db_sessions: sessionmaker[Session]) -> None:
    with pytest.raises(sa_exc.StatementError, match="naive datetime"), db_sessions() as session:
        profile_rows.put_profile(session, "p", {"width": 1}, now=datetime(2026, 1, 1))
