"""libvips set-up for hostile input, and the one place where its errors become ours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyvips

from darkroom.errors import ImageError

LOAD_OPTIONS = "fail_on=warning"
"""Damaged data (truncation, bad Huffman codes) fails the load instead of decoding grey."""

VIPS_MAX_COORD = 10_000_000
"""A side length that never constrains a thumbnail: used for "this side is free"."""


def configure() -> None:
    """Refuse untrusted loaders (ImageMagick, Matlab, ...) and keep no operation cache.

    The cache would pin decoded input buffers in memory across requests; the block list
    makes sure libvips cannot hand bytes to a loader we have not vetted, whatever the sniff
    said.
    """
    pyvips.block_untrusted_set(True)
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    _route_only_problems_to_python()


def _route_only_problems_to_python() -> None:
    """Let libvips' warnings and errors reach Python logging, but not its progress notes.

    libvips narrates every thumbnail ("input size is ...", "loading with factor ...") at
    INFO level, and pyvips hands each note to a Python callback that must take the GIL from
    a libvips thread: on a busy server those threads then wait on the event loop and on
    each other. GLib's default handler drops INFO and DEBUG unless G_MESSAGES_DEBUG asks.
    """
    handler = getattr(pyvips, "_log_handler_cb", None)
    if handler is None or not hasattr(pyvips, "_remove_log_handler"):
        return  # a pyvips without the handler we know: leave its logging alone
    levels = pyvips.GLogLevelFlags
    pyvips._remove_log_handler()
    pyvips._log_handler_id = pyvips.glib_lib.g_log_set_handler(
        b"VIPS",
        levels.LEVEL_MESSAGE
        | levels.LEVEL_WARNING
        | levels.LEVEL_CRITICAL
        | levels.LEVEL_ERROR
        | levels.FLAG_FATAL
        | levels.FLAG_RECURSION,
        handler,
        pyvips.ffi.NULL,
    )


def allow_svg() -> None:
    """Unblock librsvg, which `block_untrusted_set` blocks. Process-wide and idempotent.

    Only bytes sniffed as SVG on a call whose limits enable SVG ever reach it: the sniff
    runs before libvips sees any input.
    """
    pyvips.operation_block_set("VipsForeignLoadSvg", False)


def libvips_message(exc: pyvips.Error) -> str:
    """The useful part of a libvips error, without its "unable to call" preamble."""
    lines = [line.strip() for line in f"{exc.message}\n{exc.detail or ''}".splitlines()]
    useful = [line for line in lines if line and not line.startswith("unable to call")]
    # libvips repeats itself as each layer unwinds; the first two lines say what happened.
    unique = list(dict.fromkeys(useful))[:2]
    return "; ".join(unique)[:300] or "no further detail from libvips"


@contextmanager
def libvips_errors(error: type[ImageError], message: str) -> Iterator[None]:
    """Re-raise any `pyvips.Error` inside the block as `error`, with libvips' reason."""
    try:
        yield
    except pyvips.Error as exc:
        reason = libvips_message(exc)
        raise error(f"{message} ({reason})", details={"libvips": reason}) from None


configure()
