"""imgproxy's grammar, option by option, and its signatures (no HTTP, no pixels)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pyimgproxy import ImgProxy

from darkroom.compat import imgproxy
from darkroom.compat.common import Source
from darkroom.errors import Forbidden, InvalidRequest, InvalidSpec
from darkroom.imaging import TransformSpec

KEY = "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881"
SALT = "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5"
SOURCE = (1200, 800)
BASE = "http://imgproxy.test"


def spec(options: str, size: tuple[int, int] = SOURCE, *, faces: bool = False) -> dict[str, Any]:
    translation = imgproxy.parse(f"{options}/plain/darkroom://ID", faces=faces)
    return translation.spec(size).canonical()


COVER = {"width": 300, "height": 200, "fit": "cover"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("rs:fill:300:200", COVER),
        ("resize:fit:300:200", {"width": 300, "height": 200}),
        ("rs:force:300:300", {"width": 300, "height": 300, "fit": "fill"}),
        ("rs:force:300:0", {"width": 300, "height": 800, "fit": "fill"}),
        ("rs:fill:300:0", {"width": 300}),
        ("rs:auto:300:200", COVER),
        ("rs:auto:200:300", {"width": 200, "height": 300}),
        ("rs:fill-down:2400:1200", {"width": 1200, "height": 600, "fit": "cover"}),
        ("rs:fill-down:300:200", COVER),
        ("s:300:200", {"width": 300, "height": 200}),
        ("size:300:200:1", {"width": 300, "height": 200, "enlarge": True}),
        ("rt:fill/w:300/h:200", COVER),
        ("resizing_type:fill/width:300/height:200", COVER),
        ("rt:fill/w:300/h:200/el:1", COVER | {"enlarge": True}),
        ("rt:fill/w:300/h:200/enlarge:true", COVER | {"enlarge": True}),
        ("w:300/h:300/ex:1", {"width": 300, "height": 300, "fit": "pad"}),
        (
            "w:300/h:300/extend:1:so",
            {"width": 300, "height": 300, "fit": "pad", "gravity": "south"},
        ),
        ("rs:fill:3000:2000:0:1", {"width": 3000, "height": 2000, "fit": "pad"}),
        ("rs:fill:300:200/g:no", COVER | {"gravity": "north"}),
        ("rs:fill:300:200/gravity:soea:0:0", COVER | {"gravity": "southeast"}),
        ("rs:fill:300:200/g:sm", COVER | {"gravity": "attention"}),
        ("rs:fill:300:200/g:fp:0.25:0.75", COVER | {"focus": {"x": 0.25, "y": 0.75}}),
        ("w:300/g:no", {"width": 300}),  # fit does not cut: gravity has nothing to do
        ("c:600:400", {"crop": {"left": 300, "top": 200, "width": 600, "height": 400}}),
        ("crop:0.5:0.5:nowe", {"crop": {"width": 600, "height": 400}}),
        ("c:600:0:fp:1:0", {"crop": {"left": 600, "width": 600, "height": 800}}),
        ("c:600:400/g:soea", {"crop": {"left": 600, "top": 400, "width": 600, "height": 400}}),
        ("pd:10", {"padding": {"top": 10, "right": 10, "bottom": 10, "left": 10}}),
        ("padding:1:2:3:4", {"padding": {"top": 1, "right": 2, "bottom": 3, "left": 4}}),
        ("pd:1:2", {"padding": {"top": 1, "right": 2, "bottom": 1, "left": 2}}),
        ("bg:ff0000", {"background": "#ff0000ff"}),
        ("background:0:255:0", {"background": "#00ff00ff"}),
        ("dpr:2/w:300", {"width": 300, "dpr": 2.0}),
        ("ar:0", {"auto_orient": False}),
        ("auto_rotate:1", {}),
        ("rot:90", {"rotate": 90}),
        ("rotate:-90", {"rotate": 270}),
        ("fl:1:0", {"flop": True}),
        ("flip:0:1", {"flip": True}),
        ("bl:2", {"blur": 2.0}),
        ("blur:0", {}),
        ("sh:1.5", {"sharpen": 1.5}),
        ("q:80", {"quality": 80}),
        ("quality:0", {}),
        ("f:webp", {"format": "webp"}),
        ("format:jpg", {"format": "jpeg"}),
        ("ext:avif", {"format": "avif"}),
        ("f:best", {"format": "auto"}),
        ("sm:0", {"strip": False}),
        ("cb:v2", {}),
    ],
)
def test_options(options: str, expected: dict[str, Any]) -> None:
    assert spec(options) == expected


def test_smart_gravity_keeps_faces_when_detection_is_installed() -> None:
    assert spec("rs:fill:300:200/g:sm", faces=True)["gravity"] == "face"


def test_fill_down_keeps_the_shape_with_dpr() -> None:
    # 2 x 600x400 device pixels do not fit in a 1000x500 source: the largest 3:2 box does.
    assert spec("rs:fill-down:600:400/dpr:2", (1000, 500)) == {
        "width": 375,
        "height": 250,
        "fit": "cover",
        "dpr": 2.0,
    }


@pytest.mark.parametrize(
    ("path", "source", "fmt"),
    [
        ("w:10/plain/darkroom://ID", Source(image_id="ID"), None),
        ("w:10/plain/darkroom://ID@png", Source(image_id="ID"), "png"),
        ("w:10/plain/http://cdn.test/a.jpg", Source(url="http://cdn.test/a.jpg"), None),
        (
            "w:10/plain/http%3A%2F%2Fcdn.test%2Fa%20b.jpg",
            Source(url="http://cdn.test/a b.jpg"),
            None,
        ),
        (
            "w:10/" + base64.urlsafe_b64encode(b"https://cdn.test/a.jpg?x=@1").decode().rstrip("="),
            Source(url="https://cdn.test/a.jpg?x=@1"),
            None,
        ),
        (
            "w:10/" + base64.urlsafe_b64encode(b"darkroom://ID").decode().rstrip("=") + ".webp",
            Source(image_id="ID"),
            "webp",
        ),
        ("plain/darkroom://ID", Source(image_id="ID"), None),
    ],
)
def test_sources(path: str, source: Source, fmt: str | None) -> None:
    translation = imgproxy.parse(path, faces=False)
    assert translation.source == source
    assert translation.spec(SOURCE).canonical().get("format") == fmt


def test_presets_are_profiles_and_the_url_wins() -> None:
    translation = imgproxy.parse("pr:thumb/q:90/plain/darkroom://ID", faces=False)
    assert translation.presets == ("thumb",)
    profile = TransformSpec(width=200, height=200, fit="cover", quality=70, format="webp")
    found = translation.spec(SOURCE, presets={"thumb": profile}).canonical()
    assert found == {"width": 200, "height": 200, "fit": "cover", "quality": 90, "format": "webp"}
    resized = imgproxy.parse("preset:thumb/w:100/plain/darkroom://ID", faces=False)
    assert resized.spec(SOURCE, presets={"thumb": profile}).canonical() == {
        "width": 100,
        "quality": 70,
        "format": "webp",
    }


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ("pixelate:5", "pixelate"),
        ("wm:0.5", "wm"),
        ("rt:stretch", "rt"),
        ("w:abc", "w"),
        ("el:maybe", "el"),
        ("g:no:10:10", "g"),
        ("g:fp:2:0", "g"),
        ("g:xx", "g"),
        ("c:100:100:sm", "crop"),
        ("rot:45", "rot"),
        ("f:heic", "f"),
        ("q:101", "q"),
        ("dpr:0.5", "dpr"),
        ("bl:200", "bl"),
        ("bg:zzz", "bg"),
        ("rs:force:300:300:0:1", "extend"),
    ],
)
def test_refusals_name_the_option(options: str, named: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        spec(options)
    assert named in caught.value.message


@pytest.mark.parametrize(
    "path",
    ["w:10/plain/", "w:10/plain/ftp://x/a.jpg", "w:10/plain/darkroom://", "w:10/!!!", ""],
)
def test_bad_sources(path: str) -> None:
    with pytest.raises(InvalidRequest):
        imgproxy.parse(path, faces=False)


def test_signatures_made_by_pyimgproxy_verify() -> None:
    url = (
        ImgProxy(url=BASE, key=KEY, salt=SALT)
        .image("darkroom://ID")
        .resize("fill", 300, 200)
        .url.removeprefix(BASE)
    )
    key, salt = bytes.fromhex(KEY), bytes.fromhex(SALT)
    rest = imgproxy.check_signature(url[1:], key=key, salt=salt, allow_insecure=False)
    assert rest == "resize:fill:300:200/plain/darkroom://ID"


def test_tampered_missing_and_wrong_key_signatures_are_refused() -> None:
    url = (
        ImgProxy(url=BASE, key=KEY, salt=SALT)
        .image("darkroom://ID")
        .width(300)
        .url.removeprefix(BASE)[1:]
    )
    key, salt = bytes.fromhex(KEY), bytes.fromhex(SALT)
    with pytest.raises(Forbidden, match="does not match"):
        imgproxy.check_signature(
            url.replace("width:300", "width:301"), key=key, salt=salt, allow_insecure=False
        )
    with pytest.raises(Forbidden, match="does not match"):
        imgproxy.check_signature(url, key=salt, salt=key, allow_insecure=False)
    with pytest.raises(Forbidden, match="no signature"):
        imgproxy.check_signature(
            "width:300/plain/darkroom://ID", key=key, salt=salt, allow_insecure=False
        )
    with pytest.raises(Forbidden, match="DARKROOM_IMGPROXY_KEY"):
        imgproxy.check_signature(url, key=None, salt=None, allow_insecure=True)


@pytest.mark.parametrize("marker", ["insecure", "_"])
def test_insecure_is_off_unless_allowed(marker: str) -> None:
    path = f"{marker}/w:300/plain/darkroom://ID"
    with pytest.raises(Forbidden, match="DARKROOM_IMGPROXY_ALLOW_INSECURE"):
        imgproxy.check_signature(path, key=None, salt=None, allow_insecure=False)
    rest = imgproxy.check_signature(path, key=None, salt=None, allow_insecure=True)
    assert rest == "w:300/plain/darkroom://ID"
