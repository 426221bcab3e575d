"""Engines and sessions for SQLite (embedded) and PostgreSQL (scale-out), with errors wrapped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from darkroom.errors import DatabaseUnavailable

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10


@contextmanager
def db_errors() -> Iterator[None]:
    """Turn driver errors meaning "the database cannot serve us now" into DatabaseUnavailable."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
        # The driver's text (host names, paths) stays in the chained cause for the logs;
        # the public message is the class default.
        raise DatabaseUnavailable() from exc


def create_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, tuned for Darkroom's access pattern."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(parsed)
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite or postgresql"
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit (no expire on commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error, errors wrapped."""
    with db_errors(), sessions.begin() as session:
        yield session


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ":memory:"
    if database == ":memory:":
        # One shared connection: otherwise each pooled connection (each thread) would
        # see its own, empty, in-memory database.
        engine = sa.create_engine(
            url, poolclass=sa.StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        if not database.startswith("file:"):
            parent = Path(database).expanduser().parent
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable() from exc
        engine = sa.create_engine(url)
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers run beside the single writer; synchronous=NORMAL is durable
        # across application crashes in WAL mode and avoids an fsync per commit.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Writers queue for up to this long instead of failing at once with "locked".
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _postgres_engine(url: URL) -> Engine:
    # A bare scheme would pick psycopg2, which Darkroom does not depend on; an explicit
    # driver in the URL is the operator's choice and is kept.
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        # Without a timeout, a blackholed host hangs the caller forever instead of failing.
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def ping(engine: Engine) -> None:
    """Raise DatabaseUnavailable unless the database answers a trivial query."""
    with db_errors(), engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
