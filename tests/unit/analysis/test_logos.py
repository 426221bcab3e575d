"""Logo detection: a drawn logo pasted rotated and scaled into real photos, then found."""

from __future__ import annotations

import pickle
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ConfigurationError, ExtraNotInstalled, ImageError, InvalidRequest
from tests.corpus import CORPUS
from tests.logo_images import encode, iou, make_logo, photo_with_logo
from tests.unit.analysis._extras import need_extra

need_extra("numpy", "cv2")

import numpy as np  # noqa: E402

from darkroom.analysis import logos  # noqa: E402

pytestmark = pytest.mark.slow  # loads a model (seconds per test worker)


@cache
def _reference(seed: int, text: str) -> logos.Reference:
    return logos.prepare_reference(text.lower(), encode(make_logo(seed, text), "PNG"))


def _acme() -> logos.Reference:
    return _reference(1, "ACME")


def _zeta() -> logos.Reference:
    return _reference(2, "ZETA")


def _analyze(data: bytes) -> list[dict[str, object]]:
    picture: Picture = load_picture(data, logos.MAX_SIDE)
    result: list[dict[str, object]] = logos.analyze(picture, [_acme(), _zeta()])["logos"]
    return result


@pytest.mark.parametrize(
    ("photo", "scale", "angle", "at"),
    [
        ("exif-orient-1-landscape.jpg", 1.2, 25.0, (900, 300)),
        ("photo-flickr-2725x2225.jpg", 2.0, -15.0, (300, 1200)),
        ("jpeg-baseline-srgb-icc.jpg", 0.6, 10.0, (100, 60)),
    ],
)
def test_finds_a_rotated_scaledmake_logo(
    photo: str, scale: float, angle: float, at: tuple[int, int]
) -> None:
    """Only ACME is found, boxed over where it was pasted, in the original's pixels."""
    data, truth = photo_with_logo(photo, scale, angle, at)
    finds = _analyze(data)
    assert [find["name"] for find in finds] == ["acme"]
    box = finds[0]["box"]
    assert isinstance(box, list)
    assert iou(box, truth) >= 0.5
    score = finds[0]["score"]
    assert isinstance(score, float)
    assert 0.0 < score <= 1.0


@pytest.mark.parametrize(
    "photo", ["exif-orient-1-landscape.jpg", "photo-flickr-2725x2225.jpg", "tiff-cielab.tif"]
)
def test_logo_free_photo_has_none(photo: str) -> None:
    """Photos without a registered logo report none."""
    assert _analyze((CORPUS / photo).read_bytes()) == []


def test_deterministic() -> None:
    """Same picture and references, same answer."""
    data, _ = photo_with_logo("jpeg-baseline-srgb-icc.jpg", 0.6, 10.0, (100, 60))
    assert _analyze(data) == _analyze(data)


def test_no_references_no_work() -> None:
    """Nothing registered: an empty answer."""
    picture = load_picture((CORPUS / "tiff-rgb-lzw.tif").read_bytes(), logos.MAX_SIDE)
    assert logos.analyze(picture, []) == {"logos": []}


def test_reference_round_trips_through_bytes() -> None:
    """`to_bytes` / `from_bytes` keep everything matching needs; pickle works too."""
    reference = _acme()
    restored = logos.Reference.from_bytes(reference.to_bytes())
    assert (restored.name, restored.width, restored.height) == ("acme", 360, 240)
    np.testing.assert_array_equal(restored.points, reference.points)
    np.testing.assert_array_equal(restored.descriptors, reference.descriptors)
    unpickled = pickle.loads(pickle.dumps(reference))
    np.testing.assert_array_equal(unpickled.descriptors, reference.descriptors)


def test_reference_points_are_in_the_logos_own_pixels() -> None:
    """A logo larger than REFERENCE_MAX_SIDE keeps its size; its points span it."""
    big = make_logo(1, "ACME").resize((1440, 960), Image.Resampling.LANCZOS)
    reference = logos.prepare_reference("big", encode(big, "PNG"))
    assert (reference.width, reference.height) == (1440, 960)
    assert float(reference.points[:, 0].max()) > logos.REFERENCE_MAX_SIDE


def test_from_bytes_refuses_garbage() -> None:
    """Bytes that are not a stored reference are refused as such."""
    with pytest.raises(InvalidRequest, match="Not a stored logo reference"):
        logos.Reference.from_bytes(b"not an npz")


def test_featureless_logo_is_refused() -> None:
    """A blank image has nothing to match: refused when registered, not silently useless."""
    blank = Image.new("RGB", (200, 100), "white")
    with pytest.raises(ImageError, match="too few distinct features"):
        logos.prepare_reference("blank", encode(blank, "PNG"))


def test_model_path_is_refused() -> None:
    """SIFT has no model file: a configured one is a mistake."""
    picture = load_picture((CORPUS / "tiff-rgb-lzw.tif").read_bytes(), logos.MAX_SIDE)
    with pytest.raises(ConfigurationError):
        logos.analyze(picture, [_acme()], model_path=Path("model.onnx"))


def test_model_info() -> None:
    """The method and the OpenCV release that runs it."""
    info = logos.model_info()
    assert info.name == "opencv-sift"
    assert info.version[0].isdigit()


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without OpenCV the analyzer refuses, naming `pip install 'darkroom-images[logos]'`."""
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ExtraNotInstalled, match=r"darkroom-images\[logos\]"):
        logos.model_info()


def test_import_needs_no_extra() -> None:
    """Importing the module loads none of the extra's packages."""
    code = (
        "import sys, darkroom.analysis.logos\n"
        "heavy = {'numpy', 'cv2'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
