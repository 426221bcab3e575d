"""`darkroom keys`: a key is printed once, stored hashed, listed without it, and revoked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkroom.cli import app
from darkroom.errors import Unauthorized
from darkroom.runtime.wiring import open_context
from darkroom.service import auth
from darkroom.settings import load_settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DARKROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "DARKROOM_STORAGE_URL": f"file://{tmp_path / 'objects'}",
        "DARKROOM_LOG_LEVEL": "warning",
    }


def test_create_list_authenticate_revoke(env: dict[str, str]) -> None:
    created = runner.invoke(
        app, ["keys", "create", "--owner", "acme", "--role", "read", "--name", "ci"], env=env
    )
    assert created.exit_code == 0, created.output
    key, record_line = created.stdout.splitlines()[:2]
    assert key.startswith("drk_")
    assert len(key) > 40
    record = json.loads(record_line)
    assert (record["owner_id"], record["role"], record["name"]) == ("acme", "read", "ci")
    assert key not in json.dumps(record)
    assert record["prefix"] == key[:10]

    listed = runner.invoke(app, ["keys", "list"], env=env)
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [record["id"]]
    assert key not in listed.stdout

    settings = load_settings(
        database_url=env["DARKROOM_DATABASE_URL"], storage_url=env["DARKROOM_STORAGE_URL"]
    )
    ctx = open_context(settings, defaults=False)
    try:
        principal = auth.authenticate(ctx, key)
        assert (principal.owner_id, principal.role) == ("acme", auth.Role.READ)
        with pytest.raises(Unauthorized):
            auth.authenticate(ctx, key + "x")
        with pytest.raises(Unauthorized):
            auth.authenticate(ctx, None)  # a key exists: anonymous requests are refused

        revoked = runner.invoke(app, ["keys", "revoke", record["id"]], env=env)
        assert revoked.exit_code == 0, revoked.output
        with pytest.raises(Unauthorized, match="unknown or revoked"):
            auth.authenticate(ctx, key)
        assert auth.authenticate(ctx, None) is auth.OPEN  # no active key left: open again
    finally:
        ctx.engine.dispose()
    again = runner.invoke(app, ["keys", "revoke", record["id"]], env=env)
    assert again.exit_code == 1
    assert "already revoked" in again.stderr
    assert runner.invoke(app, ["keys", "list", "--all"], env=env).stdout.count("revoked_at") == 1


def test_an_unknown_role_is_refused(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "create", "--owner", "acme", "--role", "root"], env=env)
    assert result.exit_code == 1
    assert "use read, upload or admin" in result.stderr
