"""Mutated corpus bytes: render either succeeds or raises a darkroom error, nothing else."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from darkroom import errors
from darkroom.imaging import render
from tests.corpus import read
from tests.unit.imaging.inputs import avif_sequence, cursor, encode, quadrants

SEEDS = [
    "jpeg-arithmetic-coded.jpg",
    "jpeg-lossless-sof3.jpg",
    "png-interlaced-rgba.png",
    "png-palette-trns.png",
    "gif-animated-loop3-10frames.gif",
    "webp-lossy-alpha.webp",
    "webp-animated-10frames.webp",
    "avif-rgba-transparency.avif",
    "tiff-multipage-3pages.tiff",
    "tiff-rgb-lzw.tif",
    "heic-hevc-quadrants-64x48.heic",
    "heic-hevc-exif-orient6-64x48.heic",
]


@cache
def generated_seeds() -> dict[str, bytes]:
    """Inputs of the decoders outside libvips, written by Pillow."""
    icon = encode(quadrants(32, 32, "RGBA"), "ICO", sizes=[(16, 16), (32, 32)])
    bitmap_icon = encode(
        quadrants(32, 32, "RGBA"), "ICO", sizes=[(16, 16), (32, 32)], bitmap_format="bmp"
    )
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    return {
        "bmp-24": encode(quadrants(24, 16), "BMP"),
        "bmp-8": encode(quadrants(24, 16, "P"), "BMP"),
        "ico": icon,
        "ico-bmp": bitmap_icon,
        "cur": cursor(bitmap_icon),
        "avif-sequence": avif_sequence([Image.new("RGB", (32, 24), c) for c in colours], [100] * 3),
    }


@st.composite
def mutated(draw: st.DrawFn, generated: bool = False) -> bytes:
    if generated:
        data = bytearray(generated_seeds()[draw(st.sampled_from(sorted(generated_seeds())))])
    else:
        data = bytearray(read(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "zero-run"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[max(at, 1) :]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[at : at + draw(st.integers(1, 64))] = b"\x00" * 8
    return bytes(data)


def check_render(data: bytes, fmt: str) -> None:
    """Render succeeds within the box, or raises a permanent Darkroom image error."""
    try:
        result = render(data, {"width": 48, "height": 48, "fit": "cover", "format": fmt})
    except errors.DarkroomError as exc:
        assert isinstance(exc, errors.ImageError | errors.InvalidSpec)
        assert not exc.retryable
        return
    assert result.width <= 48
    assert result.height <= 48
    assert result.data


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(), fmt=st.sampled_from(["png", "webp", "jpeg", "gif"]))
def test_render_never_raises_anything_but_a_darkroom_error(data: bytes, fmt: str) -> None:
    check_render(data, fmt)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated(generated=True), fmt=st.sampled_from(["png", "webp", "gif"]))
def test_pillow_inputs_never_raise_anything_but_a_darkroom_error(data: bytes, fmt: str) -> None:
    check_render(data, fmt)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 11, 12, 16, 32])
@pytest.mark.parametrize("seed", SEEDS)
def test_every_short_prefix_is_refused_cleanly(seed: str, size: int) -> None:
    with pytest.raises(errors.ImageError):
        render(read(seed)[:size], {"width": 10})
