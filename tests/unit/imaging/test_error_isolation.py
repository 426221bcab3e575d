"""A refusal describes its own input only, however many others fail at the same moment."""

from __future__ import annotations

import lzma
import random
import threading
from collections.abc import Callable

import pytest
import pyvips

from darkroom import errors
from darkroom.imaging import render, verify
from tests.corpus import read
from tests.unit.imaging.inputs import bmp, quadrants, tiff, vips_from_pillow


def _jpeg() -> bytes:
    return bytes(vips_from_pillow(quadrants(320, 240)).jpegsave_buffer(Q=90))


def _cut(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


BAD: dict[str, tuple[Callable[[], bytes], type[errors.ImageError], tuple[str, ...]]] = {
    # name: (input, error, what its message says: its headline first)
    "truncated jpeg": (
        lambda: _cut(_jpeg()),
        errors.CorruptImage,
        ("The JPEG image", "truncated"),
    ),
    "jpeg cut and closed": (
        lambda: _cut(_jpeg()) + b"\xff\xd9",
        errors.CorruptImage,
        ("The JPEG image", "damaged"),
    ),
    "truncated png": (
        lambda: read("broken-truncated.png"),
        errors.CorruptImage,
        ("The PNG image", "truncated"),
    ),
    "png without header": (
        lambda: read("broken-corrupt-header.png"),
        errors.CorruptImage,
        ("The PNG header",),
    ),
    "gif without frames": (
        lambda: read("bomb-gif-44bytes-65535x66601.gif"),
        errors.CorruptImage,
        ("The GIF header",),
    ),
    "lzma tiff": (
        lambda: tiff(8, 8, 3, [lzma.compress(b"\x10" * 192)], compression=34925),
        errors.UnsupportedFormat,
        ("This TIFF", "LZMA"),
    ),
    "bmp holding jpeg": (
        lambda: bmp(8, 8, 24, b"\x00" * 64, compression=4),
        errors.UnsupportedFormat,
        ("This BMP", "wraps JPEG"),
    ),
}
GOOD = [
    "jpeg-progressive.jpg",
    "png-palette-trns.png",
    "gif-animated-loop3-10frames.gif",
    "webp-lossy-alpha.webp",
    "tiff-rgb-lzw.tif",
    "heic-hevc-quadrants-64x48.heic",
]
DISTINCT = {words[0] for _, _, words in BAD.values()} | {"LZMA", "wraps JPEG"}
"""Phrases that belong to one input's refusal: another's must not contain them."""
THREADS, ROUNDS = 8, 3


def outcome(data: bytes) -> tuple[str, str]:
    try:
        render(data, {"width": 48, "height": 48, "fit": "cover", "format": "webp"})
    except errors.DarkroomError as exc:
        return type(exc).__name__, exc.message
    return "ok", ""


def test_concurrent_refusals_each_describe_their_own_input() -> None:
    inputs = {name: make() for name, (make, _, _) in BAD.items()}
    inputs |= {name: read(name) for name in GOOD}
    alone = {name: outcome(data) for name, data in inputs.items()}
    for name, (_, error, words) in BAD.items():
        kind, message = alone[name]
        assert kind == error.__name__, (name, message)
        assert message.startswith(words[0]), (name, message)
        assert all(word in message for word in words), (name, message)
        assert not [p for p in DISTINCT - set(words) if p in message], (name, message)
    assert all(alone[name] == ("ok", "") for name in GOOD)

    seen: dict[str, set[tuple[str, str]]] = {name: set() for name in inputs}
    lock, start = threading.Lock(), threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def work(seed: int) -> None:
        order = list(inputs) * ROUNDS
        random.Random(seed).shuffle(order)
        start.wait()
        try:
            for name in order:
                result = outcome(inputs[name])
                with lock:
                    seen[name].add(result)
        except BaseException as exc:  # anything but a Darkroom error fails the test
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures
    assert seen == {name: {alone[name]} for name in inputs}
    assert pyvips.ffi.string(pyvips.vips_lib.vips_error_buffer()) == b""


def test_a_libvips_failure_carries_no_process_wide_text() -> None:
    # Another failure first, as another request would cause...
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(read("broken-corrupt-header.png"), "")
    # ...then ours: libvips' shared buffer holds neither, so nothing can leak between them.
    with pytest.raises(pyvips.Error) as caught:
        pyvips.Image.new_from_buffer(read("broken-corrupt-header.jpg"), "").avg()
    assert caught.value.detail == ""
    with pytest.raises(errors.CorruptImage) as refused:
        verify(read("broken-corrupt-header.jpg"))
    assert "PNG" not in refused.value.message
