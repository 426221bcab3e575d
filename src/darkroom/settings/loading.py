"""Reading the settings once at start-up, and saying what is wrong with them if anything is."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from darkroom.errors import ConfigurationError
from darkroom.settings.aliases import env_names
from darkroom.settings.model import Settings

# These may carry passwords: their values are never echoed in error messages.
_SENSITIVE = frozenset(
    {
        "database_url",
        "broker_url",
        "redis_url",
        "signing_keys",
        "webhook_secret",
        "console_secret",
        "thumbor_key",
        "imgproxy_key",
        "imgproxy_salt",
    }
)


class InvalidSettings(ConfigurationError):
    """The configuration is invalid; the message names each variable and what to fix."""

    code = "invalid_settings"
    default_message = "The configuration is invalid."


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings once, at start-up; explicit overrides beat the env."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors(include_url=False)]
        message = "Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems)
        raise InvalidSettings(message, details=problems) from exc


def _describe(error: ErrorDetails) -> str:
    field, *rest = error["loc"] or ("",)
    if error["type"] == "value_error" and "ctx" in error:
        reason = str(error["ctx"]["error"])  # without pydantic's "Value error, " prefix
    else:
        reason = error["msg"]
    if field not in Settings.model_fields:
        return f"{field}: {reason}" if field else reason
    where = " or ".join(env_names(str(field)))
    if rest and isinstance(rest[0], int):
        where += f" (item {rest[0] + 1})"
    if field not in _SENSITIVE:
        reason += f" (got {error['input']!r})"
    return f"{where}: {reason}"
