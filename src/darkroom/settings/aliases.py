"""The reference job service's variables, read as fallbacks for Darkroom settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

ENV_PREFIX = "DARKROOM_"
"""Every setting's variable starts so; the aliases below are the exceptions."""


@dataclass(frozen=True, slots=True)
class EnvAlias:
    """A variable of the reference job service, read when `DARKROOM_<FIELD>` is not set."""

    env: str
    field: str
    meaning: str
    convert: Callable[[str], str]


def _verbatim(value: str) -> str:
    return value


def _sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def _file_url(path: str) -> str:
    # "file://uploads" would read as host "uploads"; "./" keeps a relative path a path.
    if PurePath(path).is_absolute() or path.startswith(("./", "../")):
        return f"file://{path}"
    return f"file://./{path}"


# Order matters: when several aliases feed one setting, the first one set wins.
ENV_ALIASES: tuple[EnvAlias, ...] = (
    EnvAlias("PORT", "port", "port number", _verbatim),
    EnvAlias("DB_PATH", "database_url", "SQLite file path", _sqlite_url),
    EnvAlias("UPLOAD_DIR", "storage_url", "directory", _file_url),
    EnvAlias("OUTPUT_DIR", "storage_url", "directory, when UPLOAD_DIR is unset", _file_url),
    EnvAlias("OUTPUT_DIR", "output_storage_url", "directory", _file_url),
    EnvAlias("WORKER_POOL_SIZE", "workers", "thread count", _verbatim),
    EnvAlias("MAX_UPLOAD_SIZE", "max_upload_bytes", "bytes", _verbatim),
)


class AliasSource(PydanticBaseSettingsSource):
    """Reads `ENV_ALIASES` from the environment; ranked below every `DARKROOM_` variable."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: `__call__` maps whole variables, some onto a differently shaped value."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The settings the alias variables provide, keyed by field name."""
        values: dict[str, Any] = {}
        for alias in ENV_ALIASES:
            raw = os.environ.get(alias.env, "").strip()
            if raw and alias.field not in values:
                values[alias.field] = alias.convert(raw)
        return values


def env_names(field: str) -> list[str]:
    """The variables a setting is read from, strongest first."""
    return [ENV_PREFIX + field.upper()] + [a.env for a in ENV_ALIASES if a.field == field]
