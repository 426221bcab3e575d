"""ICC profile descriptions decide whether a colour transform is needed."""

from __future__ import annotations

import pytest
import pyvips
from hypothesis import given
from hypothesis import strategies as st

from darkroom.imaging import probe, render
from darkroom.imaging.icc import is_srgb, profile_description
from tests.corpus import read


@pytest.mark.parametrize(
    ("name", "description", "transform"),
    [
        ("jpeg-baseline-srgb-icc.jpg", "sRGB IEC61966-2.1", False),
        ("webp-exif-icc-xmp.webp", "sRGB IEC61966-2.1", False),
        ("jpeg-adobergb-heavy-xmp-2000x1072.jpg", "Adobe RGB (1998)", True),
        ("png-display-p3-icc.png", "Display P3", True),
        ("jpeg-cmyk-icc-swop.jpg", "U.S. Web Coated (SWOP) v2", True),
        ("png-16bit-grey-alpha-icc.png", "Greyscale D50", True),
        ("photo-flickr-2725x2225.jpg", None, False),
    ],
)
def test_embedded_profiles(name: str, description: str | None, transform: bool) -> None:
    data = read(name)
    header = pyvips.Image.new_from_buffer(data, "")
    icc = bytes(header.get("icc-profile-data")) if header.get_typeof("icc-profile-data") else b""
    assert profile_description(icc) == description
    assert probe(data).needs_colour_transform is transform


def test_builtin_srgb_profile_is_recognised() -> None:
    srgb = pyvips.Image.black(1, 1).copy(interpretation="srgb").icc_export(output_profile="srgb")
    assert is_srgb(bytes(srgb.get("icc-profile-data")))


@given(st.binary(max_size=600))
def test_garbage_profiles_never_raise(blob: bytes) -> None:
    assert profile_description(blob) is None or isinstance(profile_description(blob), str)
    assert isinstance(is_srgb(blob), bool)


@pytest.mark.parametrize(
    "spec",
    [
        {"width": 100},
        {"width": 100, "crop": {"left": 0, "top": 0, "width": 200, "height": 200}},
        {"width": 100, "watermark": {"text": "darkroom"}},
    ],
)
def test_colour_managed_renders_use_no_deprecated_libvips_argument(
    spec: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    # pyvips notes each deprecated argument at INFO on every call: once per transform.
    with caplog.at_level("INFO", logger="pyvips"):
        out = render(read("jpeg-cmyk-icc-swop.jpg"), spec)
    assert out.width == 100
    deprecated = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert deprecated == []
