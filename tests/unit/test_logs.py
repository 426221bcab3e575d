"""One log format per process: JSON lines with the caller's fields, or readable text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from darkroom.runtime.logs import CHATTY, configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def test_json_lines_carry_the_fields_given_as_extra() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    logging.getLogger("darkroom.test").info(
        "variant %s done", "v1", extra={"image_id": "i1", "duration_ms": 12.5}
    )
    line = json.loads(stream.getvalue())
    assert line["level"] == "info"
    assert line["logger"] == "darkroom.test"
    assert line["msg"] == "variant v1 done"
    assert (line["image_id"], line["duration_ms"]) == ("i1", 12.5)
    assert line["ts"].endswith("+00:00")


def test_exceptions_stay_inside_their_json_line() -> None:
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("darkroom.test").exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert "ValueError: boom" in json.loads(lines[0])["exc"]


def test_console_format_appends_fields_as_key_value() -> None:
    stream = io.StringIO()
    configure_logging("debug", "console", stream)
    logging.getLogger("darkroom.test").warning("slow", extra={"duration_ms": 900})
    assert stream.getvalue().rstrip().endswith("WARNING darkroom.test: slow duration_ms=900")


def test_auto_is_json_when_not_a_terminal() -> None:
    stream = io.StringIO()  # isatty() is False
    configure_logging("info", "auto", stream)
    logging.getLogger("darkroom.test").info("hello")
    assert json.loads(stream.getvalue())["msg"] == "hello"


def test_library_chatter_is_held_at_warning() -> None:
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    logging.getLogger("dramatiq.worker").info("booting up")
    logging.getLogger("alembic.runtime.migration").info("running upgrade")
    logging.getLogger("dramatiq.worker").warning("consumer crashed")
    messages = [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]
    assert messages == ["consumer crashed"]
