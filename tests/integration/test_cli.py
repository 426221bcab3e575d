"""The `darkroom` command line: migrate, profiles, and serve's help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from darkroom.cli import app
from darkroom.settings.table import settings_table

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DARKROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "DARKROOM_STORAGE_URL": f"file://{tmp_path / 'objects'}",
    }


def test_migrate_then_profiles_round_trip(env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["migrate"], env=env).output.strip() == "database is up to date"
    put = runner.invoke(
        app, ["profiles", "put", "banner", '{"width": 1200, "format": "webp"}'], env=env
    )
    assert put.exit_code == 0, put.output
    assert json.loads(put.output) == {
        "name": "banner",
        "version": 1,
        "spec": {"width": 1200, "format": "webp"},
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text('{"width": 1000, "format": "webp"}')
    again = runner.invoke(app, ["profiles", "put", "banner", f"@{spec_file}"], env=env)
    assert json.loads(again.output)["version"] == 2
    listed = [
        json.loads(line)
        for line in runner.invoke(app, ["profiles", "list"], env=env).output.splitlines()
    ]
    assert [p["name"] for p in listed] == ["banner"]
    got = runner.invoke(app, ["profiles", "get", "banner"], env=env)
    assert json.loads(got.output)["spec"] == {"width": 1000, "format": "webp"}
    assert runner.invoke(app, ["profiles", "delete", "banner"], env=env).exit_code == 0
    missing = runner.invoke(app, ["profiles", "get", "banner"], env=env)
    assert missing.exit_code == 1
    assert "Profile banner not found" in missing.output


def test_invalid_spec_and_settings_are_reported(env: dict[str, str]) -> None:
    bad = runner.invoke(app, ["profiles", "put", "x", '{"width": 10, "fit": "cover"}'], env=env)
    assert bad.exit_code == 1
    assert "fit=cover needs both width and height" in bad.output
    broken = runner.invoke(app, ["profiles", "put", "x", "{nope"], env=env)
    assert broken.exit_code == 2
    assert "not valid JSON" in broken.output
    wrong = runner.invoke(app, ["migrate"], env=env | {"DARKROOM_PORT": "99999"})
    assert wrong.exit_code == 2
    assert "DARKROOM_PORT" in wrong.output


def test_serve_help_lists_every_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "darkroom", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    for variable, _default, _description in settings_table():
        assert variable in result.stdout
    assert "--workers" in result.stdout
