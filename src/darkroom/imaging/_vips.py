"""libvips set-up for hostile input, and reading its metadata without trusting its text."""

from __future__ import annotations

import logging
from typing import Any

import pyvips

from darkroom.imaging._jpeg import without_junk_between_segments
from darkroom.imaging.formats import ImageFormat

LOAD_OPTIONS = "fail_on=warning"
"""Damaged data (truncation, bad Huffman codes) fails the load instead of decoding grey."""

VIPS_MAX_COORD = 10_000_000
"""A side length that never constrains a thumbnail: used for "this side is free"."""

_logger = logging.getLogger("pyvips")
_LOG_LEVELS = {
    pyvips.GLogLevelFlags.LEVEL_ERROR: logging.ERROR,
    pyvips.GLogLevelFlags.LEVEL_CRITICAL: logging.CRITICAL,
    pyvips.GLogLevelFlags.LEVEL_WARNING: logging.WARNING,
    pyvips.GLogLevelFlags.LEVEL_MESSAGE: logging.INFO,
}
_PROBLEMS = sum(_LOG_LEVELS)
_FLAGS = pyvips.GLogLevelFlags.FLAG_FATAL | pyvips.GLogLevelFlags.FLAG_RECURSION


def configure() -> None:
    """Refuse untrusted loaders, keep no operation cache, and silence the shared error text.

    The cache would pin decoded input buffers in memory across requests; the block list
    makes sure libvips cannot hand bytes to a loader we have not vetted, whatever the sniff
    said.

    libvips appends every error of every thread to one process-wide buffer, and
    `pyvips.Error` copies (then clears) that whole buffer when it is raised: under
    concurrency an error carries other requests' text, loses its own to another thread's
    clear, or is torn mid-write into bytes that are not UTF-8 (and then `pyvips.Error`
    itself raises UnicodeDecodeError). Nothing links a message to the call that caused it
    (libvips issue 5010), so the buffer is frozen for good: libvips still reports failure
    through return codes, and refusals are worded from what Darkroom knows of the input
    (`refusals.py`), never from libvips' text.
    """
    pyvips.block_untrusted_set(True)
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.vips_lib.vips_error_freeze()
    _route_only_problems_to_python()


def set_threads(threads: int) -> None:
    """Threads of each libvips pipeline started from now on, process-wide."""
    pyvips.concurrency_set(threads)


def _log_libvips(domain: Any, level: int, message: Any, user_data: Any) -> None:
    """GLib log callback: libvips warnings to Python logging, whatever bytes they hold."""
    text = "" if message == pyvips.ffi.NULL else pyvips.ffi.string(message)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.strip():
        _logger.log(_LOG_LEVELS.get(level & ~_FLAGS, logging.WARNING), "VIPS: %s", text)


_log_callback = pyvips.ffi.callback("GLogFunc", _log_libvips)
"""Kept at module level: libvips calls it for the life of the process."""


def _route_only_problems_to_python() -> None:
    """Let libvips' warnings and errors reach Python logging, but not its progress notes.

    libvips narrates every thumbnail ("input size is ...", "loading with factor ...") at
    INFO level, and pyvips hands each note to a Python callback that must take the GIL from
    a libvips thread: on a busy server those threads then wait on the event loop and on
    each other. GLib's default handler drops INFO and DEBUG unless G_MESSAGES_DEBUG asks.
    pyvips' own callback decodes messages as strict UTF-8 inside C; ours replaces bad bytes.
    """
    if not hasattr(pyvips, "_remove_log_handler"):
        return  # a pyvips without the handler we know: leave its logging alone
    pyvips._remove_log_handler()
    pyvips._log_handler_id = pyvips.glib_lib.g_log_set_handler(
        b"VIPS", _PROBLEMS | _FLAGS, _log_callback, pyvips.ffi.NULL
    )


def allow_svg() -> None:
    """Unblock librsvg, which `block_untrusted_set` blocks. Process-wide and idempotent.

    Only bytes sniffed as SVG on a call whose limits enable SVG ever reach it: the sniff
    runs before libvips sees any input.
    """
    pyvips.operation_block_set("VipsForeignLoadSvg", False)


def libvips_bytes(data: bytes, fmt: ImageFormat) -> bytes:
    """The bytes handed to libvips: a JPEG loses the junk libjpeg would warn about (`_jpeg`)."""
    return without_junk_between_segments(data) if fmt is ImageFormat.JPEG else data


# --- metadata ----------------------------------------------------------------------------
# `Image.get_fields()` and `Image.get()` decode names and strings as strict UTF-8, and
# loaders name fields after bytes in the file (PNG text keywords, HEIF item types): one
# Latin-1 byte there raises UnicodeDecodeError. So no field is ever listed, only the few
# Darkroom needs are read, by name, and text is decoded with replacement.


def int_field(image: pyvips.Image, name: str, default: int) -> int:
    """An integer field, or `default` when it is missing or not an integer."""
    if image.get_typeof(name) != pyvips.GValue.gint_type:
        return default
    return int(image.get(name))


def blob_field(image: pyvips.Image, name: str) -> bytes:
    """A binary field (ICC profile, EXIF, ...), empty when missing."""
    if image.get_typeof(name) != pyvips.GValue.blob_type:
        return b""
    return bytes(image.get(name))


def text_field(image: pyvips.Image, name: str) -> str:
    """A string field decoded with replacement, empty when missing."""
    kind = image.get_typeof(name)
    if kind not in (pyvips.GValue.refstr_type, pyvips.GValue.gstr_type):
        return ""
    value = pyvips.GValue()
    if pyvips.vips_lib.vips_image_get(image.pointer, name.encode(), value.gvalue):
        return ""
    if kind == pyvips.GValue.refstr_type:
        length = pyvips.ffi.new("size_t *")
        text = pyvips.vips_lib.vips_value_get_ref_string(value.gvalue, length)
    else:
        text = pyvips.gobject_lib.g_value_get_string(value.gvalue)
    if text == pyvips.ffi.NULL:
        return ""
    raw: bytes = pyvips.ffi.string(text)
    return raw.decode("utf-8", "replace")


configure()
