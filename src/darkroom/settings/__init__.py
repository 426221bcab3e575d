"""Typed configuration: every setting with its default, validation and environment variables.

Settings are read once at start-up with `load_settings()` and passed to whatever needs
them; there is deliberately no module-level instance. Each setting is read from
`DARKROOM_<NAME>`; a few also fall back to the variables of the reference job service
(`ENV_ALIASES`), so its users can switch without renaming their configuration. The fields
are in `model`, the reading and its error messages in `loading`.
"""

from darkroom.settings.aliases import ENV_ALIASES, ENV_PREFIX, EnvAlias, env_names
from darkroom.settings.loading import InvalidSettings, load_settings
from darkroom.settings.model import Settings, usable_cpus

__all__ = [
    "ENV_ALIASES",
    "ENV_PREFIX",
    "EnvAlias",
    "InvalidSettings",
    "Settings",
    "env_names",
    "load_settings",
    "usable_cpus",
]
