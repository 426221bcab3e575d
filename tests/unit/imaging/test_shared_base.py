"""One decode for several renders: same sizes as from the bytes, near-identical pixels, and
only where a plain decode is what the render would have used."""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image

from darkroom.errors import CorruptImage
from darkroom.imaging import probe, render, verify
from darkroom.imaging.base import BASE_MAX_PIXELS, decode_base, plan_base, shareable, shared_base
from darkroom.imaging.limits import DEFAULT_LIMITS
from darkroom.imaging.spec import TransformSpec
from darkroom.imaging.verify import verified_by_decoding
from tests.corpus import read

PROFILES = [
    {"width": 200, "height": 200, "fit": "cover"},
    {"width": 800, "fit": "contain"},
    {"width": 128, "height": 128, "fit": "cover", "gravity": "attention"},
    {"width": 300, "height": 100, "fit": "fill"},
    {"width": 240, "height": 240, "fit": "pad", "background": "black"},
]
PHOTOS = [
    "photo-flickr-2725x2225.jpg",
    "jpeg-progressive.jpg",
    "exif-orient-6-landscape.jpg",
    "exif-orient-3-portrait.jpg",
    "jpeg-cmyk-icc-swop.jpg",
    "png-16bit-rgb.png",
    "webp-lossy.webp",
    "tiff-16bit-adobergb-photoshop.tif",
]


def specs() -> list[TransformSpec]:
    # Lossless, so that the comparison sees the resampling and nothing of an encoder.
    return [TransformSpec.coerce(profile | {"format": "png"}) for profile in PROFILES]


def pixels(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


@pytest.mark.parametrize("name", PHOTOS)
def test_renders_from_a_shared_base_match_renders_from_the_bytes(name: str) -> None:
    data = read(name)
    info = probe(data)
    base = shared_base(data, specs(), info, DEFAULT_LIMITS)
    assert base is not None
    for spec in specs():
        alone = render(data, spec, info=info)
        shared = render(data, spec, info=info, base=base)
        assert (shared.width, shared.height, shared.format) == (
            alone.width,
            alone.height,
            alone.format,
        ), spec
        difference = (pixels(alone.data) - pixels(shared.data)).abs().avg()
        # From the bytes, a JPEG decodes at the scale nearest the result (1/4 for a 300x100
        # fill of a 1200x799 photo, with nothing left to resize across); from the base, the
        # same render is resized from more pixels: up to ~2 levels apart on fine detail.
        assert difference < 2.5, f"{spec.canonical()}: mean difference {difference:.2f}"


def test_the_largest_render_is_exactly_its_render_from_the_bytes() -> None:
    data = read("photo-flickr-2725x2225.jpg")
    info = probe(data)
    base = shared_base(data, specs(), info, DEFAULT_LIMITS)
    assert base is not None
    assert (base.image.width, base.image.height) == (800, 653)
    largest = specs()[1]
    assert render(data, largest, info=info, base=base).data == render(data, largest).data


def test_mean_differences_of_the_default_profiles_stay_under_one() -> None:
    data = read("photo-flickr-2725x2225.jpg")
    info = probe(data)
    wanted = specs()[:2]  # thumb and contain: what the threshold is about
    base = shared_base(data, wanted, info, DEFAULT_LIMITS)
    assert base is not None
    for spec in wanted:
        alone = pixels(render(data, spec, info=info).data)
        shared = pixels(render(data, spec, info=info, base=base).data)
        assert (alone - shared).abs().avg() < 1.0


CROP = {"left": 0, "top": 0, "width": 900, "height": 900}


def bmp() -> bytes:
    """A BMP: decoded by Pillow, not by libvips."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "BMP")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "extra"),
    [
        (read("gif-animated-earth-44frames.gif"), {}),  # frames are not in a base
        (read("photo-flickr-2725x2225.jpg"), {"crop": CROP}),
        (read("photo-flickr-2725x2225.jpg"), {"auto_orient": False}),
        (read("photo-flickr-2725x2225.jpg"), {"redact": {"faces": "blur"}}),
        (bmp(), {}),
    ],
    ids=["animated", "crop", "no-auto-orient", "faces", "pillow-decoded"],
)
def test_what_a_plain_decode_cannot_serve_renders_from_the_bytes(
    data: bytes, extra: dict[str, object]
) -> None:
    info = probe(data)
    spec = TransformSpec.coerce({"width": 100} | extra)
    assert not shareable(spec, info)
    assert shared_base(data, [spec, spec], info, DEFAULT_LIMITS) is None


def test_one_render_alone_needs_no_base() -> None:
    data = read("jpeg-progressive.jpg")
    assert shared_base(data, specs()[:1], probe(data), DEFAULT_LIMITS) is None


def test_a_base_too_large_to_keep_is_not_made() -> None:
    data = read("large-solid-9643x10328-99.6mp.jpg")
    info = probe(data)
    full = [TransformSpec.coerce({"format": "png"}), TransformSpec.coerce({"width": 100})]
    assert info.width * info.height > BASE_MAX_PIXELS
    assert shared_base(data, full, info, DEFAULT_LIMITS) is None
    small = [TransformSpec.coerce({"width": 800}), TransformSpec.coerce({"width": 100})]
    base = shared_base(data, small, info, DEFAULT_LIMITS)
    assert base is not None
    assert base.image.width * base.image.height <= BASE_MAX_PIXELS


def test_a_planned_base_is_the_shared_base_and_reads_only_the_header_until_decoded() -> None:
    data = read("photo-flickr-2725x2225.jpg")
    info = probe(data)
    chosen = plan_base(data, specs(), info)
    assert chosen is not None
    base = decode_base(data, info, chosen)
    assert (base.image.width, base.image.height) == chosen.size
    shared = shared_base(data, specs(), info, DEFAULT_LIMITS)
    assert shared is not None
    assert (shared.image.width, shared.image.height, shared.scale) == (
        *chosen.size,
        base.scale,
    )
    assert plan_base(data, specs()[:1], info) is None  # nothing to share
    assert plan_base(data, specs()[:1], info, minimum=1) is not None


@pytest.mark.parametrize("name", ["broken-truncated.jpg", "broken-truncated-progressive.jpg"])
def test_decoding_a_base_refuses_damaged_data_as_verify_does(name: str) -> None:
    data = read(name)
    info = probe(data)
    assert verified_by_decoding(info)
    with pytest.raises(CorruptImage) as verified:
        verify(data)
    chosen = plan_base(data, specs(), info)
    assert chosen is not None
    with pytest.raises(CorruptImage) as decoded:
        decode_base(data, info, chosen)
    assert decoded.value.code == verified.value.code


@pytest.mark.parametrize(
    ("name", "whole"),
    [
        ("jpeg-progressive.jpg", True),
        ("png-16bit-rgb.png", True),
        ("webp-lossy.webp", True),
        ("webp-animated-10frames.webp", False),
        ("heic-hevc-256x256.heic", False),
        ("tiff-rgb-lzw.tif", False),
    ],
)
def test_only_formats_decoded_whole_at_any_scale_are_verified_by_a_base(
    name: str, whole: bool
) -> None:
    assert verified_by_decoding(probe(read(name))) is whole
