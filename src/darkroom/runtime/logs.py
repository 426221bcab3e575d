"""One log format for every line a process writes: JSON lines, or readable text on a terminal.

Fields passed as `extra=` (image_id, variant_id, duration_ms, request_id, ...) become keys
of the JSON object, so log pipelines can filter on them; the console format appends them
as key=value. Libraries whose routine chatter would bury ours are held at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["json", "console", "auto"]

_HANDLER_NAME = "darkroom"

CHATTY = ("dramatiq", "pika", "alembic", "botocore", "boto3", "urllib3", "httpx", "httpcore")
"""Loggers kept at WARNING: broker connection notes, migration steps, HTTP client traces."""

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
    "taskName",
}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached with `extra=`, in the order given."""
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the extra fields, and exc if any."""

    def format(self, record: logging.LogRecord) -> str:
        """Called for every record the handler emits."""
        document: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        document.update(extras(record))
        if record.exc_info:
            document["exc"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value ...` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Called for every record the handler emits."""
        text = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        if not fields:
            return text
        head, newline, tail = text.partition("\n")  # keep a traceback below the fields
        return f"{head} {fields}{newline}{tail}"


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record, as logging's last
    resort does: a stream swapped in and closed since (a test runner's capture) is never
    written to."""

    def emit(self, record: logging.LogRecord) -> None:
        """Called (under the handler's lock) for every record: look the stream up anew."""
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str, fmt: LogFormat = "auto", stream: TextIO | None = None) -> None:
    """Send every logger's records to `stream` (stderr) in one format, at `level`.

    Called again, it replaces the handler it installed before and leaves others alone.
    """
    target = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if target.isatty() else "json"
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    threshold = max(logging.WARNING, root.level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(threshold)
    # uvicorn's loggers carry their own handlers when uvicorn configures logging; ours
    # replace them so its lines come out in the same format.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
