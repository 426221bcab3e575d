"""The plain fields of upload requests (form or JSON), checked the same way everywhere."""

from __future__ import annotations

from typing import Any

from darkroom.errors import InvalidRequest

TEXT_LIMITS = {"content_type": 64, "filename": 255, "owner_id": 255, "callback_url": 2048}
"""The longest value each text field takes, in characters."""


def names(value: Any, field: str) -> list[str] | None:
    """Profile or analysis names: a list, or a comma-separated string; None if not given."""
    if value is None:
        return None
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    if isinstance(value, list) and all(isinstance(p, str) and p for p in value):
        return value
    raise InvalidRequest(
        f"'{field}' must be a list of non-empty names or a comma-separated string."
    )


def text(fields: dict[str, Any], name: str) -> str | None:
    """The text field `name` within its limit; None if absent or empty."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    limit = TEXT_LIMITS[name]
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"'{name}' must be a string of at most {limit} characters.")
    return value
