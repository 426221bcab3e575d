"""thumbor's grammar, element by element, and its signatures (no HTTP, no pixels)."""

from __future__ import annotations

from typing import Any

import pytest
from libthumbor import CryptoURL

from darkroom.compat import thumbor
from darkroom.compat.common import Source
from darkroom.errors import Forbidden, InvalidRequest, InvalidSpec

KEY = "thumbor-key"
SOURCE = (1200, 800)


def spec(path: str, size: tuple[int, int] = SOURCE, *, faces: bool = False) -> dict[str, Any]:
    translation = thumbor.parse(path, faces=faces)
    mark = b"mark" if translation.mark is not None else None
    return translation.spec(size, mark=mark).canonical()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("300x200/ID", {"width": 300, "height": 200, "fit": "cover", "enlarge": True}),
        # One side: thumbor works out the other (1200x800 -> 300x200) and scales to both.
        ("300x0/ID", {"width": 300, "height": 200, "fit": "fill", "enlarge": True}),
        ("0x200/ID", {"width": 300, "height": 200, "fit": "fill", "enlarge": True}),
        ("ID", {}),
        ("origx100/ID", {"width": 1200, "height": 100, "fit": "cover", "enlarge": True}),
        ("fit-in/300x300/ID", {"width": 300, "height": 300}),
        ("full-fit-in/300x300/ID", {"height": 300, "enlarge": True}),
        ("adaptive-fit-in/200x300/ID", {"width": 300, "height": 200}),
        ("adaptive-full-fit-in/200x300/ID", {"width": 300, "enlarge": True}),
        (
            "-300x-200/ID",
            {
                "width": 300,
                "height": 200,
                "fit": "cover",
                "enlarge": True,
                "flip": True,
                "flop": True,
            },
        ),
        (
            "10x20:610x420/300x200/ID",
            {
                "crop": {"left": 10, "top": 20, "width": 600, "height": 400},
                "width": 300,
                "height": 200,
                "fit": "cover",
                "enlarge": True,
            },
        ),
        (
            "0x0:5000x5000/ID",  # a crop past the image is clamped to it, as thumbor does
            {},
        ),
        (
            "300x200/left/top/ID",
            {"width": 300, "height": 200, "fit": "cover", "enlarge": True, "gravity": "northwest"},
        ),
        (
            "300x200/right/ID",
            {"width": 300, "height": 200, "fit": "cover", "enlarge": True, "gravity": "east"},
        ),
        (
            "300x200/bottom/ID",
            {"width": 300, "height": 200, "fit": "cover", "enlarge": True, "gravity": "south"},
        ),
        (
            "300x200/smart/ID",
            {"width": 300, "height": 200, "fit": "cover", "enlarge": True, "gravity": "attention"},
        ),
    ],
)
def test_geometry(path: str, expected: dict[str, Any]) -> None:
    assert spec(path) == expected


def test_smart_keeps_faces_when_detection_is_installed() -> None:
    assert spec("300x200/smart/ID", faces=True)["gravity"] == "face"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("quality(80)", {"quality": 80}),
        ("format(webp)", {"format": "webp"}),
        ("format(jpg)", {"format": "jpeg"}),
        ("blur(3)", {"blur": 3.0}),
        ("blur(4,2)", {"blur": 2.0}),
        ("sharpen(2,1.5,true)", {"sharpen": 1.5, "sharpen_amount": 2.0}),
        ("grayscale()", {"grayscale": True}),
        ("strip_exif():strip_icc()", {}),  # Darkroom strips by default
        ("rotate(90)", {"rotate": 90}),
        ("rotate(-90)", {"rotate": 270}),
        ("round_corner(20,255,0,0)", {"corners": {"radius": 20, "color": "#ff0000ff"}}),
        ("round_corner(20|10,0,0,0,1)", {"corners": {"radius": 20, "radius_y": 10}}),
        ("background_color(ff0000)", {"background": "#ff0000ff"}),
        ("fill(red)", {"background": "#ff0000ff"}),
    ],
)
def test_filters(filters: str, expected: dict[str, Any]) -> None:
    found = spec(f"0x300/filters:{filters}/ID")
    geometry = {"width": 450, "height": 300, "fit": "fill", "enlarge": True}
    if "rotate" in expected:
        geometry = geometry | {"width": 300, "height": 450}
    assert found == geometry | expected


def test_rotate_names_thumbor_sides_and_mirrors_before_turning() -> None:
    found = spec("-300x200/left/filters:rotate(90)/ID")
    # thumbor's 300x200 is turned into a 200x300 result. Its horizontal mirror happens
    # before the turn, so it is a vertical mirror after it; the source's left part (which
    # the mirror moves to the right) ends up at the bottom.
    assert found["width"] == 200
    assert found["height"] == 300
    assert found["flip"] is True
    assert "flop" not in found
    assert found["gravity"] == "south"


def test_fit_in_fill_pads_to_the_box() -> None:
    found = spec("fit-in/300x300/filters:fill(00ff00)/ID")
    assert found == {"width": 300, "height": 300, "fit": "pad", "background": "#00ff00ff"}


def test_no_upscale_and_upscale_and_stretch() -> None:
    assert spec("2400x100/filters:no_upscale()/ID") == {
        "width": 1200,
        "height": 100,
        "fit": "cover",
    }
    assert spec("fit-in/2400x2400/filters:upscale()/ID") == {
        "width": 2400,
        "height": 2400,
        "enlarge": True,
    }
    assert spec("300x300/filters:stretch()/ID")["fit"] == "fill"


def test_focal_filter_centres_the_cut() -> None:
    found = spec("300x300/filters:focal(0x0:120x80)/ID")
    assert found["focus"] == {"x": 0.05, "y": 0.05}


def test_watermark_filter() -> None:
    translation = thumbor.parse("300x0/filters:watermark(logo,-10,20,25,30)/ID", faces=False)
    assert translation.mark is not None
    assert translation.mark.source == Source(image_id="logo")
    mark = translation.spec(SOURCE, mark=b"png").watermark
    assert mark is not None
    assert mark.position.value == "northeast"
    assert (mark.margin, mark.margin_y, mark.opacity, mark.size) == (10, 20, 0.75, 0.3)
    centred = thumbor.parse(
        "filters:watermark(http://x.test/l.png,center,center,0)/ID", faces=False
    )
    assert centred.mark is not None
    assert centred.mark.source == Source(url="http://x.test/l.png")
    assert centred.mark.fields["position"] == "centre"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("filters:brightness(10)/ID", "brightness()"),
        ("filters:rotate(45)/ID", "rotate()"),
        ("filters:fill(blur)/ID", "fill(blur)"),
        ("filters:format(heic)/ID", "format()"),
        ("filters:quality(0)/ID", "quality()"),
        ("filters:blur(150)/ID", "blur()"),
        ("filters:watermark(logo,10p,10,0)/ID", "watermark()"),
        ("filters:watermark(logo,10,10,100)/ID", "watermark()"),
        ("filters:watermark(logo,10,10,0,20,20)/ID", "watermark()"),
        ("filters:quality(80/ID", "quality()"),
        ("99999x10/ID", "width"),
    ],
)
def test_refusals_name_the_option(path: str, named: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        spec(path)
    assert named in caught.value.message


@pytest.mark.parametrize("path", ["meta/300x200/ID", "debug/ID", "trim/ID", "trim:top-left:10/ID"])
def test_refused_segments(path: str) -> None:
    with pytest.raises(InvalidRequest):
        thumbor.parse(path, faces=False)


@pytest.mark.parametrize(
    ("image", "source"),
    [
        ("01a2-b3c4", Source(image_id="01a2-b3c4")),
        ("http://cdn.test/a/b.jpg", Source(url="http://cdn.test/a/b.jpg")),
        ("https%3A%2F%2Fcdn.test%2Fa.jpg", Source(url="https://cdn.test/a.jpg")),
        ("cdn.test/a.jpg", Source(url="http://cdn.test/a.jpg")),
    ],
)
def test_image_is_an_id_or_a_url(image: str, source: Source) -> None:
    assert thumbor.parse(f"300x200/{image}", faces=False).source == source


def test_signatures_made_by_libthumbor_verify() -> None:
    url = CryptoURL(key=KEY).generate(image_url="ID", width=300, height=200, smart=True)
    rest = thumbor.check_signature(url[1:], key=KEY, allow_unsafe=False)
    assert rest == "300x200/smart/ID"
    assert thumbor.signature(KEY, rest) == url[1:].split("/")[0]


def test_tampered_missing_and_wrong_key_signatures_are_refused() -> None:
    url = CryptoURL(key=KEY).generate(image_url="ID", width=300)[1:]
    with pytest.raises(Forbidden, match="does not match"):
        thumbor.check_signature(url.replace("300x0", "301x0"), key=KEY, allow_unsafe=False)
    with pytest.raises(Forbidden, match="does not match"):
        thumbor.check_signature(url, key="other", allow_unsafe=False)
    with pytest.raises(Forbidden, match="no signature"):
        thumbor.check_signature("300x0/ID", key=KEY, allow_unsafe=False)
    with pytest.raises(Forbidden, match="DARKROOM_THUMBOR_KEY"):
        thumbor.check_signature(url, key=None, allow_unsafe=True)


def test_unsafe_is_off_unless_allowed() -> None:
    with pytest.raises(Forbidden, match="DARKROOM_THUMBOR_ALLOW_UNSAFE"):
        thumbor.check_signature("unsafe/300x0/ID", key=KEY, allow_unsafe=False)
    assert thumbor.check_signature("unsafe/300x0/ID", key=None, allow_unsafe=True) == "300x0/ID"
