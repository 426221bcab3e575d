"""Background removal: u2netp's mask on studio-style photos, and its place in the original."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ExtraNotInstalled
from tests.unit.analysis._extras import need_extra

need_extra("numpy", "onnxruntime", "rembg")

import numpy as np  # noqa: E402

from darkroom.analysis import background  # noqa: E402

pytestmark = pytest.mark.slow  # loads a model (seconds per test worker)

CORPUS = Path(__file__).parents[2] / "fixtures" / "corpus"
# Subjects on plain white: a rose (WebP) and dice (a transparent PNG, flattened on white).
STUDIO = ("webp-lossy.webp", "png-rgba-transparency.png")


def _picture(name: str, max_side: int = background.MAX_SIDE) -> Picture:
    return load_picture((CORPUS / name).read_bytes(), max_side)


def _alpha(name: str) -> np.ndarray:
    picture = _picture(name)
    alpha = background.mask(picture)
    return np.frombuffer(alpha.write_to_memory(), np.uint8).reshape(alpha.height, alpha.width)


@pytest.mark.parametrize("name", STUDIO)
def test_studio_photo_background_is_transparent(name: str) -> None:
    """Corners (plain background) transparent, the subject in the centre opaque."""
    alpha = _alpha(name)
    height, width = alpha.shape
    corners = alpha[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.max() < 10
    centre = alpha[height // 2 - 5 : height // 2 + 5, width // 2 - 5 : width // 2 + 5]
    assert centre.min() > 245


def test_mask_is_one_uchar_band_at_the_pictures_size() -> None:
    """What the caller composites: alpha at exactly the picture's size."""
    picture = _picture("photo-flickr-2725x2225.jpg", 640)
    alpha = background.mask(picture)
    assert (alpha.width, alpha.height) == (picture.width, picture.height)
    assert alpha.bands == 1
    assert alpha.format == "uchar"


def test_analyze_reports_the_subject_in_original_pixels() -> None:
    """The dice: about a third of the frame, boxed away from the edges."""
    result = background.analyze(_picture("png-rgba-transparency.png"))
    assert 0.2 < result["foreground_fraction"] < 0.5
    x, y, w, h = result["box"]
    assert 20 < x < 80
    assert 0 <= y < 40
    assert 150 < w < 260
    assert 150 < h < 225


@pytest.mark.slow
def test_box_is_scaled_back_to_the_original() -> None:
    """A picture loaded smaller reports the same box, in the original's pixels."""
    large = background.analyze(_picture("jpeg-baseline-srgb-icc.jpg", 800))
    small = background.analyze(_picture("jpeg-baseline-srgb-icc.jpg", 400))
    for a, b in zip(large["box"], small["box"], strict=True):
        assert a == pytest.approx(b, abs=12)
    assert large["foreground_fraction"] == pytest.approx(small["foreground_fraction"], abs=0.02)


@pytest.mark.slow
def test_deterministic() -> None:
    """The same picture gives the same answer."""
    picture = _picture("webp-lossy.webp")
    assert background.analyze(picture) == background.analyze(picture)


@pytest.mark.slow
def test_matches_rembgs_own_pipeline() -> None:
    """Same model, same normalisation as rembg: only the resampling filters differ."""
    pytest.importorskip("cv2")
    from PIL import Image
    from rembg import new_session, remove  # type: ignore[import-untyped]

    picture = _picture("png-rgba-transparency.png")
    ours = np.frombuffer(background.mask(picture).write_to_memory(), np.uint8)
    pil = Image.frombytes("RGB", (picture.width, picture.height), picture.image.write_to_memory())
    theirs = np.asarray(remove(pil, session=new_session(), only_mask=True)).reshape(-1)
    difference = np.abs(ours.astype(int) - theirs.astype(int))
    assert difference.mean() < 3
    ours_solid, theirs_solid = ours >= 128, theirs >= 128
    iou = (ours_solid & theirs_solid).sum() / (ours_solid | theirs_solid).sum()
    assert iou > 0.97


@pytest.mark.slow
def test_user_model_path(tmp_path: Path) -> None:
    """`model_path` runs another ONNX file of the same architecture."""
    copy = tmp_path / "mine.onnx"
    copy.write_bytes(background.model_file().read_bytes())
    picture = _picture("png-rgba-transparency.png")
    assert background.analyze(picture, model_path=copy) == background.analyze(picture)
    info = background.model_info(copy)
    assert info.name == "mine.onnx"
    assert info.version.startswith("sha256:")


def test_model_info() -> None:
    """The packaged model: u2netp, at the version of the package that ships it."""
    info = background.model_info()
    assert info.name == "u2netp"
    assert info.version == "0.1.3"


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without onnxruntime the analyzer refuses, naming the extra's `pip install`."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ExtraNotInstalled, match=r"darkroom-images\[background\]"):
        background.model_info()


def test_import_needs_no_extra() -> None:
    """Importing the module loads none of the extra's packages."""
    code = (
        "import sys, darkroom.analysis.background\n"
        "heavy = {'numpy', 'onnxruntime', 'rembg', 'cv2'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
