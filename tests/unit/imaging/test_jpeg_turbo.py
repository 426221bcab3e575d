"""JPEGs decode through TurboJPEG: the same bytes out as libvips' own decode, and libvips
wherever TurboJPEG would differ, meets damaged data, or would hold too much."""

from __future__ import annotations

from typing import Any

import pytest
import pyvips
import simplejpeg

from darkroom.errors import CorruptImage
from darkroom.imaging import _jpeg_turbo, load, render
from darkroom.imaging._jpeg import frame_marker
from tests.corpus import read

SPECS: list[dict[str, Any]] = [
    {"width": 500, "height": 500, "format": "jpeg", "quality": 80},
    {"width": 300, "height": 300, "fit": "cover", "format": "webp", "quality": 80},
    {"width": 200, "height": 200, "fit": "cover", "format": "png"},
    {"width": 1200, "format": "jpeg", "strip": False},
    {"width": 640, "height": 480, "fit": "fill", "format": "jpeg", "auto_orient": False},
    {"width": 2000, "format": "jpeg"},  # a whole decode, as libvips' thumbnail takes it
]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each scaled decode asked of TurboJPEG was its (True) or left to libvips."""
    seen: list[bool] = []

    def counting(source: bytes, shrink: int) -> pyvips.Image | None:
        image = _jpeg_turbo.decode_scaled(source, shrink)
        seen.append(image is not None)
        return image

    monkeypatch.setattr(load, "decode_scaled", counting)
    return seen


def _by_libvips(data: bytes, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as patched:
        patched.setattr(load, "decode_scaled", lambda source, shrink: None)
        return render(data, spec).data


@pytest.mark.parametrize(
    "name",
    [
        "photo-flickr-2725x2225.jpg",  # EXIF, odd sides
        pytest.param(  # ICC, XMP, IPTC: kept when not stripped
            "jpeg-adobergb-heavy-xmp-2000x1072.jpg", marks=pytest.mark.slow
        ),
        pytest.param("jpeg-progressive.jpg", marks=pytest.mark.slow),
        pytest.param("jpeg-grayscale.jpg", marks=pytest.mark.slow),
        pytest.param("exif-orient-6-portrait.jpg", marks=pytest.mark.slow),
        pytest.param("exif-orient-5-landscape.jpg", marks=pytest.mark.slow),
    ],
)
def test_a_jpeg_renders_to_the_same_bytes_as_through_libvips(
    name: str, decodes: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = read(name)
    for spec in SPECS:
        decodes.clear()
        ours = render(data, spec).data
        assert ours == _by_libvips(data, spec, monkeypatch), spec
        assert decodes, spec
        assert all(decodes), f"{spec}: not decoded by TurboJPEG"


def test_a_side_libjpeg_rounds_up_is_cut_to_libvips_size() -> None:
    # 1333 / 4: libjpeg makes 334 rows, libvips 333; the first 333 are the same pixels.
    noise = pyvips.Image.gaussnoise(2000, 1333, sigma=30)
    photo = noise.bandjoin([noise.rot180(), noise.fliphor()]).linear(1, [40, 90, 160])
    data = bytes(photo.cast("uchar").jpegsave_buffer())
    ours = _jpeg_turbo.decode_scaled(data, 4)
    assert ours is not None
    theirs = pyvips.Image.new_from_buffer(data, "", shrink=4)
    assert (ours.width, ours.height) == (theirs.width, theirs.height) == (500, 333)
    assert (ours - theirs).abs().max() == 0


@pytest.mark.parametrize("shrink", [1, 2, 4, 8])
def test_each_scale_is_exactly_one_over_the_shrink(shrink: int) -> None:
    # TurboJPEG also scales by 3/8, 5/8 ...: asked for 1/shrink, 1/shrink is what it makes.
    data = read("photo-flickr-2725x2225.jpg")
    ours = _jpeg_turbo.decode_scaled(data, shrink)
    assert ours is not None
    theirs = pyvips.Image.new_from_buffer(data, "", shrink=shrink)
    assert (ours.width, ours.height) == (theirs.width, theirs.height)
    assert (ours - theirs).abs().max() == 0


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("jpeg-lossless-sof3.jpg", "lossless coding: a scaled decode crashed libjpeg-turbo"),
        ("jpeg-arithmetic-coded.jpg", "arithmetic coding"),
        ("jpeg-cmyk-icc-swop.jpg", "CMYK"),
        ("jpeg-ultrahdr-gainmap-3840x2160.jpg", "a gain map, resized by libvips' own load"),
    ],
)
def test_what_turbojpeg_would_decode_differently_is_left_to_libvips(name: str, why: str) -> None:
    assert _jpeg_turbo.decode_scaled(read(name), 2) is None, why


def test_a_decode_too_big_to_hold_whole_is_left_to_libvips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = read("photo-flickr-2725x2225.jpg")
    assert _jpeg_turbo.decode_scaled(data, 2) is not None
    monkeypatch.setattr(_jpeg_turbo, "MAX_DECODED_BYTES", 1362 * 1112 * 3 - 1)
    assert _jpeg_turbo.decode_scaled(data, 2) is None


@pytest.mark.parametrize("name", ["broken-truncated.jpg", "broken-truncated-progressive.jpg"])
def test_a_file_cut_short_is_left_to_libvips_which_refuses_it(
    name: str, decodes: list[bool]
) -> None:
    with pytest.raises(CorruptImage):
        render(read(name), SPECS[0])
    assert decodes == [False]


def test_damage_only_a_warning_tells_is_refused(decodes: list[bool]) -> None:
    # A scan cut short and closed with an end marker: libjpeg decodes it, the lower part
    # grey, and only warns. TurboJPEG stops on that warning as libvips does.
    photo = read("photo-flickr-2725x2225.jpg")
    damaged = photo[: photo.index(b"\xff\xda") + 20_000] + b"\xff\xd9"
    lenient = simplejpeg.decode_jpeg(damaged, "RGB", strict=False)
    assert lenient.shape[:2] == (2225, 2725)  # what a decoder that ignores warnings makes of it
    assert _jpeg_turbo.decode_scaled(damaged, 4) is None
    with pytest.raises(CorruptImage):
        render(damaged, SPECS[0])
    assert decodes == [False]


@pytest.mark.parametrize(
    ("data", "marker"),
    [
        (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc2\x00\x02", 0xC2),
        (b"\xff\xd8\xff\xc4\x00\x02\xff\xdb\x00\x02\xff\xc3\x00\x02", 0xC3),  # DHT is not one
        (b"\xff\xd8\xff\xda\x00\x02", None),  # a scan before any frame
        (b"\x89PNG\r\n", None),
        (b"\xff\xd8\xff\xe1\x00\x01", None),  # a length too short to step over
    ],
)
def test_the_frame_marker_names_the_coding(data: bytes, marker: int | None) -> None:
    assert frame_marker(data) == marker
