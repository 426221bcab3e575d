"""The spec fields the compatible URL grammars need, checked on pixels, and that they leave
the hashes of existing specs alone."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips

from darkroom.errors import InvalidSpec
from darkroom.imaging import TransformSpec, render, to_query
from darkroom.imaging.spec import validate_spec
from tests.corpus import read

PHOTO = "jpeg-progressive.jpg"
"""1200x799 JPEG."""


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def out(spec: dict[str, Any]) -> pyvips.Image:
    return decode(render(read(PHOTO), spec).data)


@pytest.mark.parametrize(
    ("spec", "digest"),
    [
        ({}, "a9485b7141b60304"),
        ({"width": 300}, "632540f5dbb30259"),
        (
            {"width": 300, "height": 200, "fit": "cover", "gravity": "north", "format": "webp"}
            | {"quality": 80},
            "82ca9a8bd21b6e5d",
        ),
        ({"width": 100, "watermark": {"text": "x"}}, "3784f4a10c7b03a5"),
    ],
)
def test_existing_spec_hashes_are_unchanged(spec: dict[str, Any], digest: str) -> None:
    # Computed with the spec before grayscale, padding, focus, corners and sharpen_amount.
    assert TransformSpec.model_validate(spec).spec_hash == digest


def test_focus_chooses_the_cut() -> None:
    left = out({"width": 100, "height": 100, "fit": "cover", "focus": {"x": 0, "y": 0.5}})
    right = out({"width": 100, "height": 100, "fit": "cover", "focus": {"x": 1, "y": 0.5}})
    west = out({"width": 100, "height": 100, "fit": "cover", "gravity": "west"})
    east = out({"width": 100, "height": 100, "fit": "cover", "gravity": "east"})
    assert (left.width, left.height) == (100, 100)
    assert (left - west).abs().avg() < 2
    assert (right - east).abs().avg() < 2
    assert (left - right).abs().avg() > 10


def test_grayscale_makes_equal_bands() -> None:
    image = out({"width": 120, "grayscale": True})
    assert image.bands == 3
    assert (image[0] - image[1]).abs().max() <= 1
    assert (image[1] - image[2]).abs().max() <= 1


def test_padding_adds_background_around_the_result() -> None:
    image = out({"width": 100, "padding": {"top": 10, "left": 5}, "background": "red", "dpr": 2})
    assert (image.width, image.height) == (210, 153)
    r, g, b = image.getpoint(2, 2)
    assert r > 240
    assert g < 15
    assert b < 15


def test_round_corners_transparent_or_coloured() -> None:
    clear = out({"width": 200, "corners": {"radius": 30}, "format": "png"})
    assert clear.bands == 4
    assert clear.getpoint(0, 0)[3] == 0
    assert clear.getpoint(100, 60)[3] == 255
    red = out({"width": 200, "corners": {"radius": 30, "radius_y": 10, "color": "red"}})
    r, g, _ = red.getpoint(0, 0)
    assert r > 200
    assert g < 40
    assert red.bands == 3


def test_sharpen_amount_strengthens_sharpening() -> None:
    soft = out({"width": 300, "sharpen": 1})
    strong = out({"width": 300, "sharpen": 1, "sharpen_amount": 10})
    plain = out({"width": 300})
    assert (strong - plain).abs().avg() > (soft - plain).abs().avg()


def test_watermark_vertical_margin() -> None:
    mark = {"text": "MARK", "position": "north", "margin": 0, "opacity": 1}
    top = out({"width": 300, "watermark": mark})
    lower = out({"width": 300, "watermark": mark | {"margin_y": 60}})
    plain = out({"width": 300})
    band = (0, 0, 300, 30)
    assert (top.crop(*band) - plain.crop(*band)).abs().avg() > 1
    assert (lower.crop(*band) - plain.crop(*band)).abs().avg() < 0.5


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"width": 10, "focus": {"x": 0.5, "y": 0.5}}, "focus"),
        (
            {"width": 10, "height": 10, "fit": "cover", "gravity": "north"}
            | {"focus": {"x": 0.5, "y": 0.5}},
            "focus or gravity",
        ),
        ({"focus": {"x": 2, "y": 0}}, "focus.x"),
        ({"sharpen_amount": 2}, "sharpen_amount needs sharpen"),
        ({"padding": {"top": -1}}, "padding.top"),
        ({"corners": {"radius": 0}}, "corners.radius"),
    ],
)
def test_refusals(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSpec, match=message):
        validate_spec(spec)


def test_fields_without_a_short_name_are_refused_by_to_query() -> None:
    with pytest.raises(InvalidSpec, match="grayscale, padding"):
        to_query(validate_spec({"width": 10, "grayscale": True, "padding": {"top": 1}}))
