"""HEVC HEIC through pi-heif, animated AVIF through Pillow, GIF frames past their canvas."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pyvips
from PIL import Image

from darkroom import errors
from darkroom.imaging import ImageFormat, Limits, probe, render, verify
from darkroom.imaging._foreign import Decoder
from tests.corpus import read
from tests.unit.imaging.inputs import BLUE, GREEN, RED, WHITE, avif_sequence, gif

COLOURS = [RED, GREEN, BLUE, WHITE]


def decoded(data: bytes, **options: object) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "", **options)


def rgb(image: pyvips.Image, x: int, y: int) -> list[float]:
    return [float(sample) for sample in image.getpoint(x, y)[:3]]


# --- HEVC-coded HEIC ---------------------------------------------------------------------------


def test_hevc_heic_pixels_come_through_pi_heif() -> None:
    data = read("heic-hevc-quadrants-64x48.heic")
    info = verify(data)
    assert (info.format, info.decoder, info.width, info.height, info.frames) == (
        ImageFormat.HEIF,
        Decoder.PI_HEIF,
        64,
        48,
        1,
    )
    out = decoded(render(data, {"format": "png"}).data)
    assert (out.width, out.height) == (64, 48)
    for (x, y), colour in zip([(8, 8), (56, 8), (8, 40), (56, 40)], COLOURS, strict=True):
        assert rgb(out, x, y) == pytest.approx(list(colour), abs=6)
    # HEIF cannot be written: the original format becomes JPEG (no alpha) or PNG (alpha).
    assert render(data, {}).format is ImageFormat.JPEG
    assert render(read("heic-hevc-rgba-64x48.heic"), {}).format is ImageFormat.PNG


@pytest.mark.parametrize("auto_orient", [True, False])
def test_iphone_style_rotation_is_applied_exactly_once(auto_orient: bool) -> None:
    # Stored 64x48 with irot (90 degrees) and EXIF Orientation 6: libheif applies irot,
    # and the EXIF tag, which says the same thing, must not turn it a second time.
    data = read("heic-hevc-exif-orient6-64x48.heic")
    info = probe(data)
    assert (info.width, info.height, info.orientation) == (48, 64, 1)
    out = decoded(render(data, {"format": "png", "auto_orient": auto_orient}).data)
    assert (out.width, out.height) == (48, 64)
    assert rgb(out, 8, 8) == pytest.approx(list(BLUE), abs=6)  # was bottom-left
    assert rgb(out, 40, 8) == pytest.approx(list(RED), abs=6)  # was top-left
    assert rgb(out, 40, 56) == pytest.approx(list(GREEN), abs=6)  # was top-right


def test_hevc_heic_alpha_is_kept() -> None:
    data = read("heic-hevc-rgba-64x48.heic")
    info = probe(data)
    assert (info.has_alpha, info.bands) == (True, 4)
    out = decoded(render(data, {"format": "png"}).data)
    assert out.bands == 4
    assert out.getpoint(32, 24)[3] == 0  # the transparent centre
    assert out.getpoint(4, 4) == pytest.approx([*RED, 255], abs=6)


def test_hevc_heic_limits_come_from_the_header(forbid_pixel_decoding: Callable[[], None]) -> None:
    data = read("heic-hevc-quadrants-64x48.heic")
    forbid_pixel_decoding()
    assert probe(data).width == 64
    with pytest.raises(errors.TooManyPixels, match="64x48"):
        probe(data, Limits(max_pixels=64 * 48 - 1))
    with pytest.raises(errors.CorruptImage):
        verify(data)  # decoding is refused: the guard works


def test_truncated_hevc_heic_is_corrupt() -> None:
    data = read("heic-hevc-quadrants-64x48.heic")
    cut = data[: data.index(b"mdat") + 40]  # the coded pixels cut short
    for call in (probe, verify, lambda d: render(d, {"width": 8})):
        with pytest.raises(errors.CorruptImage) as caught:
            call(cut)
        assert caught.value.message.startswith("The HEIF header cannot be read")  # libheif checks
        assert caught.value.details["problem"] == "truncated"


# --- animated AVIF -----------------------------------------------------------------------------

DELAYS = [100, 200, 300, 400]


@pytest.fixture(scope="module")
def animated_avif() -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in COLOURS]
    return avif_sequence(frames, DELAYS)


def test_animated_avif_is_probed_as_an_animation(animated_avif: bytes) -> None:
    info = verify(animated_avif)
    assert (info.format, info.decoder, info.width, info.height, info.frames) == (
        ImageFormat.AVIF,
        Decoder.PILLOW,
        64,
        48,
        4,
    )
    assert info.animated


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_animated_avif_keeps_every_frame_and_delay_where_the_output_animates(
    animated_avif: bytes, fmt: str
) -> None:
    result = render(animated_avif, {"width": 32, "format": fmt})
    assert (result.width, result.height, result.frames) == (32, 24, 4)
    out = decoded(result.data, n=-1)
    assert out.get("n-pages") == 4
    assert list(out.get("delay")) == DELAYS
    for index, colour in enumerate(COLOURS):
        assert rgb(out, 16, index * 24 + 12) == pytest.approx(list(colour), abs=8)


def test_animated_avif_crop_applies_to_every_frame(animated_avif: bytes) -> None:
    spec = {"crop": {"left": 8, "top": 8, "width": 20, "height": 10}, "format": "webp"}
    result = render(animated_avif, spec)
    assert (result.width, result.height, result.frames) == (20, 10, 4)


def test_animated_avif_to_a_still_format_takes_the_first_frame(animated_avif: bytes) -> None:
    result = render(animated_avif, {"format": "jpeg"})
    assert (result.frames, result.width, result.height) == (1, 64, 48)
    assert rgb(decoded(result.data), 32, 24) == pytest.approx(list(RED), abs=8)
    assert render(animated_avif, {"format": "auto"}, accept="image/webp").frames == 4


def test_animated_avif_limits_come_from_the_header(
    animated_avif: bytes, forbid_pixel_decoding: Callable[[], None]
) -> None:
    forbid_pixel_decoding()
    assert probe(animated_avif).frames == 4
    with pytest.raises(errors.TooManyFrames, match="4 frames"):
        probe(animated_avif, Limits(max_frames=3))
    with pytest.raises(errors.TooManyPixels, match="over 4 frames"):
        probe(animated_avif, Limits(max_animation_pixels=64 * 48 * 4 - 1))


def test_still_avif_stays_with_libvips() -> None:
    info = probe(read("avif-rgba-transparency.avif"))
    assert (info.decoder, info.frames, info.animated) == (Decoder.LIBVIPS, 1, False)


# --- GIF frames past the canvas ---------------------------------------------------------------


def test_gif_frames_reaching_past_the_canvas_are_cut_to_it() -> None:
    # A 16x16 screen; the second frame starts at (8, 8) and is 16x16: half of it is outside.
    data = gif((16, 16), [(0, 0, 16, 16, 0), (8, 8, 16, 16, 1), (20, 20, 8, 8, 2)])
    info = verify(data)
    assert (info.width, info.height, info.frames) == (16, 16, 3)
    result = render(data, {"format": "webp", "lossless": True})
    assert (result.width, result.height, result.frames) == (16, 16, 3)
    out = decoded(result.data, n=-1)
    # The encoder stores frame 3 (drawn wholly outside, so equal to frame 2) only once.
    assert out.get("n-pages") in (2, 3)
    second = out.crop(0, 16, 16, 16)
    assert rgb(second, 4, 4) == list(RED)  # frame 1 where frame 2 does not reach
    assert rgb(second, 12, 12) == list(BLUE)  # the part of frame 2 inside the canvas


def test_gif_whose_first_frame_is_larger_than_its_screen_grows_the_canvas() -> None:
    # libnsgif, like browsers, lets the first frame define the canvas.
    data = gif((16, 16), [(0, 0, 24, 20, 1), (0, 0, 8, 8, 0)])
    info = verify(data)
    assert (info.width, info.height, info.frames) == (24, 20, 2)
    assert render(data, {"format": "webp"}).frames == 2
