"""Bring a database to the latest schema with Alembic, safely from any number of processes."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from darkroom.db.engine import create_engine, db_errors

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Any constant shared by every Darkroom process works; this one is "darkroom" in ASCII.
_PG_LOCK_KEY = 0x6461726B726F6F6D


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str) -> None:
    """Migrate the database at `url` to the newest revision; a no-op when already there."""
    engine = create_engine(url)
    try:
        with db_errors(), engine.connect() as connection:
            _lock(connection)
            command.upgrade(alembic_config(connection), "head")
            # Alembic sees our open transaction and leaves the commit to us; on PostgreSQL
            # the commit also releases the transaction-scoped advisory lock.
            connection.commit()
    finally:
        # The connection may have foreign keys switched off; never return it to a pool.
        engine.dispose()


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Concurrent starters queue here; the second one then finds the schema at head.
        # The transaction-scoped variant cannot leak if the process dies mid-migration.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # Table rebuilds in batch migrations would cascade-delete child rows with foreign
        # keys on; the pragma only takes effect outside a transaction, so it comes first.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # BEGIN IMMEDIATE takes the write lock now, making concurrent upgrades queue
        # (busy timeout) and the whole upgrade one atomic transaction.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
