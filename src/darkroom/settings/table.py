"""Every setting as a row (variable, default, meaning): the README's table and `--help`."""

from __future__ import annotations

from pydantic.fields import FieldInfo

from darkroom.settings import ENV_PREFIX, Settings
from darkroom.settings.aliases import ENV_ALIASES


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) of every setting, for the README and `--help`."""
    rows = []
    for name, field in Settings.model_fields.items():
        description = field.description or ""
        aliases = [f"{a.env} ({a.meaning})" for a in ENV_ALIASES if a.field == name]
        if aliases:
            description += f" Fallback: {', then '.join(aliases)}."
        rows.append((ENV_PREFIX + name.upper(), _default_text(field), description))
    return rows


def _default_text(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("default_text"), str):
        return str(extra["default_text"])
    value = field.get_default(call_default_factory=True)
    if value is None or value in ("", ()):
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
