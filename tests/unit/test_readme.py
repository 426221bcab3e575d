"""The README's settings table is the settings, row for row: docs that cannot drift."""

from __future__ import annotations

from pathlib import Path

from darkroom.settings.table import settings_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_settings_table_lists_every_setting_as_the_code_describes_it() -> None:
    lines = README.read_text().splitlines()
    start = lines.index("| variable | default | meaning |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("| `DARKROOM_"):
            break
        rows.append(line)
    expected = [f"| `{env}` | `{default}` | {text} |" for env, default, text in settings_table()]
    assert rows == expected, "regenerate the README table from settings_table()"
