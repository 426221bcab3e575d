"""A JPEG decodes at the smallest scale that covers its result: libvips' sizes, near-identical
pixels to a whole decode, and libvips' own decode where a smaller one would show."""

from __future__ import annotations

import math
from typing import Any

import pytest
import pyvips
from bench.jpeg_scale import libvips_jpeg_shrink

from darkroom.imaging import load, probe, render
from tests.corpus import read


def whole(data: bytes, width: int, **options: Any) -> pyvips.Image:
    """The same thumbnail from every pixel of the file: the reference."""
    return pyvips.Image.new_from_buffer(data, "").thumbnail_image(width, **options).copy_memory()


def psnr(a: pyvips.Image, b: pyvips.Image) -> float:
    difference = a.cast("float") - b.cast("float")
    return 10 * math.log10(255**2 / max((difference * difference).avg(), 1e-9))


@pytest.mark.parametrize(
    ("ratio", "ours", "libvips"),
    [
        (1.9, 1, 1),
        (2.0, 2, 1),
        (3.75, 2, 1),
        (4.0, 4, 2),
        (7.9, 4, 2),
        (8.0, 4, 4),
        (15.9, 4, 4),
        (16.0, 8, 8),
    ],
)
def test_the_decode_scale_covers_the_result_and_leaves_eighths_to_libvips(
    ratio: float, ours: int, libvips: int
) -> None:
    assert load.jpeg_shrink(ratio) == ours
    assert libvips_jpeg_shrink(ratio) == libvips


@pytest.mark.parametrize(
    "name",
    [
        "photo-flickr-2725x2225.jpg",
        "jpeg-progressive.jpg",
        "exif-orient-6-landscape.jpg",
        "exif-orient-3-portrait.jpg",
        "jpeg-grayscale.jpg",
        "jpeg-adobergb-heavy-xmp-2000x1072.jpg",
    ],
)
@pytest.mark.parametrize(
    "box",
    [
        {"width": 800},
        {"width": 333, "height": 10_000},
        {"width": 300, "height": 100, "size": "force"},
        {"width": 201, "height": 97},
        {"width": 4000, "size": "down"},
    ],
    ids=["800", "333-wide", "fill", "odd-box", "never-enlarged"],
)
def test_sizes_are_libvips_own(name: str, box: dict[str, Any]) -> None:
    data = read(name)
    info = probe(data)
    options = {key: value for key, value in box.items() if key != "width"}
    ours = load.thumbnail(data, info, box["width"], all_frames=False, **options)
    theirs = pyvips.Image.thumbnail_buffer(data, box["width"], **options)
    assert (ours.width, ours.height) == (theirs.width, theirs.height)


@pytest.mark.parametrize(
    ("name", "width", "floor"),
    [
        ("photo-flickr-2725x2225.jpg", 800, 40.0),  # 1/2 scale, where libvips decodes whole
        ("photo-flickr-2725x2225.jpg", 500, 38.0),  # 1/4, where libvips takes 1/2
        ("jpeg-progressive.jpg", 400, 38.0),
        ("exif-orient-6-landscape.jpg", 300, 38.0),
    ],
)
def test_pixels_stay_close_to_a_whole_decode(name: str, width: int, floor: float) -> None:
    data = read(name)
    ours = load.thumbnail(data, probe(data), width, all_frames=False).copy_memory()
    reference = whole(data, width)
    assert (ours.width, ours.height) == (reference.width, reference.height)
    assert psnr(ours, reference) >= floor
    assert (ours.cast("float") - reference.cast("float")).abs().avg() < 2.0


def test_the_scaled_decode_is_what_renders_use() -> None:
    # 2725x2225 to 800 wide: libvips' thumbnail would decode every pixel; ours decodes a
    # quarter of them. The output differs from libvips' by the decode, not by the resize.
    data = read("photo-flickr-2725x2225.jpg")
    ours = render(data, {"width": 800, "format": "png"})
    theirs = pyvips.Image.thumbnail_buffer(data, 800).copy_memory()
    decoded = pyvips.Image.new_from_buffer(ours.data, "")
    assert (decoded.width, decoded.height) == (theirs.width, theirs.height)
    assert (decoded - theirs).abs().max() > 0
    half = pyvips.Image.new_from_buffer(data, "", shrink=2)
    expected = half.thumbnail_image(800, height=theirs.height, size="force").copy_memory()
    assert (decoded - expected).abs().max() == 0


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("jpeg-cmyk-icc-swop.jpg", {"width": 240}),  # CMYK drifts when decoded scaled
        (
            "jpeg-progressive.jpg",
            {"width": 300, "height": 300, "fit": "cover", "gravity": "attention"},
        ),
        (
            "jpeg-progressive.jpg",
            {"width": 300, "height": 300, "fit": "cover", "gravity": "entropy"},
        ),
    ],
    ids=["cmyk", "attention", "entropy"],
)
def test_cmyk_and_smart_crops_keep_libvips_decode(name: str, spec: dict[str, Any]) -> None:
    data = read(name)
    ours = pyvips.Image.new_from_buffer(render(data, spec | {"format": "png"}).data, "")
    options: dict[str, Any] = {"height": spec.get("height", spec["width"])}
    if "gravity" in spec:
        options["crop"] = spec["gravity"]
    if probe(data).needs_colour_transform:
        options["output_profile"] = "srgb"
    theirs = pyvips.Image.thumbnail_buffer(data, spec["width"], **options).copy_memory()
    if theirs.bands == 4 and ours.bands == 3:
        theirs = theirs.flatten()
    assert (ours.width, ours.height) == (theirs.width, theirs.height)
    assert (ours.cast("float") - theirs.cast("float")).abs().max() <= 1


@pytest.mark.slow  # a few seconds of header reads: the full suite runs it
def test_remembered_sizes_follow_orientation_and_request() -> None:
    # The eight orientations, asked the same boxes in turn: each answer comes from (or
    # goes into) the remembered sizes and is still libvips' own. The portrait is stored
    # 1800x1200 like the first landscape, so only its orientation tells their sizes apart.
    names = [f"exif-orient-{n}-landscape.jpg" for n in range(1, 9)]
    names.append("exif-orient-6-portrait.jpg")
    boxes: list[dict[str, Any]] = [{}, {"height": 90, "size": "force"}, {"no_rotate": True}]
    for _ in range(2):
        for name in names:
            data = read(name)
            for options in boxes:
                ours = load.thumbnail_size(data, probe(data), 120, **options)
                theirs = pyvips.Image.thumbnail_buffer(data, 120, **options)
                assert ours == (theirs.width, theirs.height), (name, options)
