"""What every command shares: settings loaded once, and errors turned into exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from darkroom.errors import DarkroomError
from darkroom.runtime.logs import configure_logging
from darkroom.settings import Settings, load_settings
from darkroom.settings.table import settings_table

if TYPE_CHECKING:
    from darkroom.service.context import Context

T = TypeVar("T")


def settings_epilog() -> str:
    """The settings table, for the --help of the commands that run the service."""
    rows = [
        f"{env} (default: {default}): {description}"
        for env, default, description in settings_table()
    ]
    return "Settings (environment variables):\n\n" + "\n\n".join(rows)


def load(**overrides: Any) -> Settings:
    """The settings (exit 2 with the message if they are invalid), with logging configured."""
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except DarkroomError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def or_exit(call: Callable[[], T]) -> T:
    """The result of `call`; a Darkroom error is printed and ends the command with exit 1."""
    try:
        return call()
    except DarkroomError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


def service_context() -> Context:
    """The service context over the configured database (migrated first), with no broker."""
    from darkroom.runtime.wiring import open_context

    settings = load()
    return or_exit(lambda: open_context(settings, defaults=False))


@contextmanager
def wired_service(command: str) -> Iterator[Context]:
    """The service context attached to the shared broker, for commands that enqueue work."""
    from darkroom.runtime.wiring import SHARED_BROKER, wire

    settings = load()
    wired = or_exit(lambda: wire(settings, shared_broker=SHARED_BROKER.format(role=command)))
    try:
        yield wired.ctx
    finally:
        wired.close()


def print_json(record: object) -> None:
    """Print a service record (a dataclass) as one line of JSON, timestamps in ISO 8601."""
    if not is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"not a record: {record!r}")
    typer.echo(json.dumps(asdict(record), default=_json_default))


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
