"""The hand-written migrations build exactly the declared schema, idempotently and safely."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from darkroom.db.engine import create_engine
from darkroom.db.migrate import alembic_config, upgrade
from darkroom.db.schema import Base

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def _version(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _snapshot(engine: Engine) -> dict[str, object]:
    inspector = sa.inspect(engine)
    return {
        table: (
            [c["name"] for c in inspector.get_columns(table)],
            sorted(i["name"] or "" for i in inspector.get_indexes(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_there_is_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == ["0007"]


def test_migrated_database_matches_the_declared_schema(db_engine: Engine) -> None:
    assert set(sa.inspect(db_engine).get_table_names()) == {
        *Base.metadata.tables,
        "alembic_version",
    }
    assert _schema_diff(db_engine) == []
    assert _version(db_engine) == HEAD


def test_upgrade_again_changes_nothing_and_keeps_data(database_url: str, db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO profiles (name, spec, version, created_at, updated_at)"
                " VALUES ('thumb', '{}', 3, :now, :now)"
            ),
            {"now": "2026-01-01 00:00:00"},
        )
    before = _snapshot(db_engine)
    upgrade(database_url)
    upgrade(database_url)
    assert _snapshot(db_engine) == before
    assert _version(db_engine) == HEAD
    with db_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version FROM profiles")).scalar_one() == 3


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(sa.inspect(db_engine).get_table_names()) == {"alembic_version"}
    with db_engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert _schema_diff(db_engine) == []


@pytest.mark.slow  # seconds of processes or a backfill: the full suite runs it
def test_two_processes_upgrading_at_once_both_succeed(database_url: str) -> None:
    script = "import sys; from darkroom.db.migrate import upgrade; upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen(
            [sys.executable, "-W", "error", "-c", script, database_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=120), p.communicate()[1]) for p in processes]
    assert outcomes == [(0, "")] * 3
    engine = create_engine(database_url)
    try:
        assert _version(engine) == HEAD
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()
