"""Lossy WebP encodes through Pillow: the same bytes as libvips' `webpsave`, and libvips for
whatever Pillow would write differently or could not stop."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from darkroom.imaging import _webp_pillow, render
from tests.corpus import read


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each WebP encode was Pillow's (True) or left to libvips."""
    seen: list[bool] = []
    encodable = _webp_pillow.encodable

    def counting(image: pyvips.Image) -> bool:
        taken = encodable(image)
        seen.append(taken)
        return taken

    monkeypatch.setattr(_webp_pillow, "encodable", counting)
    return seen


def _by_libvips(data: bytes, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as patched:
        patched.setattr(_webp_pillow, "encodable", lambda image: False)
        return render(data, spec).data


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("photo-flickr-2725x2225.jpg", {"width": 800, "format": "webp"}),
        (
            "photo-flickr-2725x2225.jpg",
            {"width": 300, "height": 300, "fit": "cover", "quality": 55, "format": "webp"},
        ),
        ("png-rgba-transparency.png", {"width": 300, "format": "webp", "quality": 90}),
        ("jpeg-grayscale.jpg", {"width": 200, "format": "webp", "grayscale": True}),
    ],
)
def test_a_lossy_webp_is_the_same_bytes_as_libvips_makes(
    name: str, spec: dict[str, Any], encodes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = render(read(name), spec).data
    assert encodes == [True]
    assert ours == _by_libvips(read(name), spec, monkeypatch)


@pytest.mark.parametrize("effort", [0, 2, 4, 6])
def test_every_effort_is_the_same_bytes(effort: int) -> None:
    image = pyvips.Image.thumbnail_buffer(read("png-rgba-transparency.png"), 240).copy_memory()
    assert image.bands == 4
    theirs = image.webpsave_buffer(Q=70, effort=effort, keep="none")
    assert _webp_pillow.encode(image, 70, effort) == theirs


@pytest.mark.parametrize(
    ("name", "spec", "chunk"),
    [
        ("jpeg-baseline-srgb-icc.jpg", {"width": 200, "format": "webp", "strip": False}, b"ICCP"),
        ("photo-flickr-2725x2225.jpg", {"width": 200, "format": "webp", "lossless": True}, b"VP8L"),
        ("gif-animated-loop3-10frames.gif", {"width": 100, "format": "webp"}, b"ANMF"),
    ],
    ids=["metadata kept", "lossless", "animated"],
)
def test_what_pillow_would_write_differently_is_left_to_libvips(
    name: str, spec: dict[str, Any], chunk: bytes, encodes: list[bool]
) -> None:
    rendered = render(read(name), spec)
    assert rendered.data.startswith(b"RIFF")
    assert rendered.data[8:12] == b"WEBP"
    assert chunk in rendered.data  # the profile, lossless coding or frames libvips wrote
    assert True not in encodes


def test_an_output_too_big_to_stop_is_left_to_libvips(
    encodes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = read("photo-flickr-2725x2225.jpg")
    spec = {"width": 400, "format": "webp"}  # 400x327
    monkeypatch.setattr(_webp_pillow, "MAX_PIXELS", 400 * 327 - 1)
    render(data, spec)
    monkeypatch.setattr(_webp_pillow, "MAX_PIXELS", 400 * 327)
    render(data, spec)
    assert encodes == [False, True]
