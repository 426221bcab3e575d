"""Bounded work per render: a time budget, the whole output of an animation capped from the
header, a cost estimate that tells heavy renders from cheap ones, and specs that cannot be
drawn refused as specs."""

from __future__ import annotations

import time

import pytest
import pyvips

from darkroom import errors
from darkroom.imaging import Limits, render
from darkroom.imaging.budget import Budget
from darkroom.imaging.cost import HEAVY_COST, is_heavy, render_cost
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.spec import TransformSpec
from tests.corpus import read

PHOTO = "photo-flickr-2725x2225.jpg"


def test_a_render_past_its_budget_is_stopped_with_render_timeout() -> None:
    data = read(PHOTO)
    started = time.monotonic()
    with pytest.raises(errors.RenderTimeout) as stopped:
        # Unbounded, this runs for about a minute on two cores.
        render(data, {"width": 11000, "enlarge": True, "blur": 100}, budget=Budget(0.5))
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"libvips was not stopped: {elapsed:.1f} s"
    assert stopped.value.code == "render_timeout"
    assert stopped.value.status_code == 503
    assert "0.5 s budget" in stopped.value.message
    assert stopped.value.details == {"budget_seconds": 0.5}


def test_after_a_stopped_render_the_same_input_renders_normally() -> None:
    data = read(PHOTO)
    with pytest.raises(errors.RenderTimeout):
        render(data, {"width": 11000, "enlarge": True, "blur": 100}, budget=Budget(0.2))
    result = render(data, {"width": 300}, budget=Budget(30))
    assert (result.width, result.height) == (300, 245)
    again = render(data, {"width": 300, "blur": 2}, budget=Budget(30))
    assert again.width == 300


def test_a_spent_budget_refuses_before_any_work() -> None:
    spent = Budget(1.0, started=time.monotonic() - 2)
    with pytest.raises(errors.RenderTimeout):
        render(read(PHOTO), {"width": 100}, budget=spent)


def test_a_render_within_its_budget_is_untouched() -> None:
    data = read(PHOTO)
    assert render(data, {"width": 200}, budget=Budget(60)).data == render(data, {"width": 200}).data


def test_budgets_of_concurrent_renders_are_their_own() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = read(PHOTO)

    def slow() -> str:
        try:
            render(data, {"width": 11000, "enlarge": True, "blur": 100}, budget=Budget(0.5))
        except errors.RenderTimeout:
            return "stopped"
        return "finished"

    def quick() -> str:
        render(data, {"width": 400, "blur": 1}, budget=Budget(60))
        return "finished"

    with ThreadPoolExecutor(4) as pool:
        outcomes = [
            f.result() for f in [pool.submit(slow), *(pool.submit(quick) for _ in range(3))]
        ]
    assert outcomes == ["stopped", "finished", "finished", "finished"]


def test_the_whole_output_of_an_animation_is_capped_before_decoding() -> None:
    gif = read("gif-animated-earth-44frames.gif")  # 44 frames of 400x400
    started = time.monotonic()
    with pytest.raises(errors.TooManyPixels) as refused:
        render(gif, {"width": 4000, "enlarge": True, "format": "webp"})
    assert time.monotonic() - started < 2, "frames were decoded before the refusal"
    assert "44 frames of 4000x4000" in refused.value.message
    assert refused.value.details["max_animation_pixels"] == 500_000_000
    # Within the cap, the same animation renders with every frame.
    result = render(gif, {"width": 200, "format": "webp"})
    assert (result.width, result.frames) == (200, 44)
    # A still output of the same request is one frame, and fits.
    assert render(gif, {"width": 2000, "enlarge": True, "format": "jpeg"}).frames == 1


def test_an_output_frame_past_the_pixel_limit_is_refused_before_decoding() -> None:
    limits = Limits(max_pixels=10_000_000)
    with pytest.raises(errors.TooManyPixels) as refused:
        render(read(PHOTO), {"width": 4000, "enlarge": True}, limits=limits)
    assert "4000x3266" in refused.value.message


@pytest.mark.parametrize(
    ("spec", "size", "source", "output", "frames", "heavy"),
    [
        ({"width": 500}, (2000, 1333), ImageFormat.JPEG, ImageFormat.JPEG, 1, False),
        ({"width": 1200}, (6000, 4000), ImageFormat.JPEG, ImageFormat.JPEG, 1, False),
        (
            {"width": 300, "height": 300, "fit": "cover"},
            (3000, 2000),
            ImageFormat.JPEG,
            ImageFormat.WEBP,
            1,
            False,
        ),
        ({"width": 300}, (10000, 10000), ImageFormat.PNG, ImageFormat.JPEG, 1, True),
        ({"width": 2000, "enlarge": True}, (400, 400), ImageFormat.GIF, ImageFormat.WEBP, 44, True),
        (
            {"width": 12240, "enlarge": True, "blur": 100},
            (2725, 2225),
            ImageFormat.JPEG,
            ImageFormat.JPEG,
            1,
            True,
        ),
        ({"width": 800, "blur": 2}, (2725, 2225), ImageFormat.JPEG, ImageFormat.JPEG, 1, False),
    ],
)
def test_cost_tells_heavy_renders_from_cheap_ones(
    spec: dict[str, object],
    size: tuple[int, int],
    source: ImageFormat,
    output: ImageFormat,
    frames: int,
    heavy: bool,
) -> None:
    cost = render_cost(
        TransformSpec.coerce(spec), size, source=source, output=output, frames=frames
    )
    assert is_heavy(cost) is heavy, f"cost {cost:.2f} against {HEAVY_COST}"


def test_cost_grows_with_the_work() -> None:
    def cost(**spec: object) -> float:
        return render_cost(
            TransformSpec.coerce(spec),
            (3000, 2000),
            source=ImageFormat.PNG,
            output=ImageFormat.JPEG,
            frames=1,
        )

    assert cost(width=300) < cost(width=1500) < cost(width=1500, blur=5) < cost(width=1500, blur=50)


@pytest.mark.parametrize("text", ["   ", "\u200b", "\t\n"])
def test_a_watermark_text_without_a_visible_character_is_an_invalid_spec(text: str) -> None:
    with pytest.raises(errors.InvalidSpec, match="visible character"):
        render(read(PHOTO), {"width": 300, "watermark": {"text": text}})


def test_a_watermark_text_too_large_to_draw_is_an_invalid_spec_not_a_corrupt_input() -> None:
    with pytest.raises(errors.InvalidSpec) as refused:
        render(
            read(PHOTO),
            {"width": 300, "dpr": 4, "watermark": {"text": "W" * 200, "font_size": 512}},
        )
    assert "cannot be drawn at 2048 px" in refused.value.message
    assert refused.value.details == [{"field": "watermark.text", "message": "cannot be drawn"}]


def test_pyvips_kill_flag_is_per_image() -> None:
    # The budget relies on it: stopping one pipeline leaves a new one on the same bytes alone.
    data = read(PHOTO)
    first = pyvips.Image.thumbnail_buffer(data, 100)
    first.set_kill(True)
    second = pyvips.Image.thumbnail_buffer(data, 100)
    assert second.jpegsave_buffer()
