"""Text in the picture: RapidOCR's PP-OCR detector, angle classifier and recogniser.

The three ONNX models ship inside the `rapidocr` wheel and are named here by path: left to
itself, RapidOCR downloads whatever model its configuration names and is missing, and a
worker must never reach the network. `model_path` replaces the recogniser (the model that
decides the language); it must be a PP-OCR recognition ONNX file that carries its character
list in its metadata, as RapidOCR's own exports do.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from pathlib import Path
from typing import Any

from darkroom.analysis.model import ModelInfo, load_once, require
from darkroom.analysis.picture import Picture
from darkroom.errors import ConfigurationError

NAME = "ocr"
EXTRA = "ocr"
FEATURE = "Text recognition (OCR)"
MAX_SIDE = 960
"""The detector's input: PP-OCR's mobile detectors are trained around this size, and text
smaller than ~10 px at this scale is below what the recogniser reads anyway."""

_DIST = "rapidocr"
_DETECTOR = "PP-OCRv6_det_small.onnx"
_CLASSIFIER = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
_RECOGNISER = "PP-OCRv6_rec_small.onnx"
_MODEL_NAME = "rapidocr-PP-OCRv6-small"


def model_info(model_path: Path | None = None) -> ModelInfo:
    """RapidOCR's packaged PP-OCR models, or the user's recogniser file."""
    _require_extra()
    if model_path is not None:
        return ModelInfo.of_file(model_path)
    return ModelInfo(_MODEL_NAME, importlib.metadata.version(_DIST))


def analyze(picture: Picture, *, model_path: Path | None = None) -> dict[str, Any]:
    """The lines of text, top to bottom, each with its confidence and its 4-point box."""
    np = _require_extra()
    engine = load_once(NAME, model_path, _load)
    pixels = np.ndarray(
        buffer=picture.image.write_to_memory(),
        dtype=np.uint8,
        shape=(picture.height, picture.width, 3),
    )
    # RapidOCR takes an ndarray as OpenCV's BGR.
    result = engine(np.ascontiguousarray(pixels[:, :, ::-1]))
    if result.boxes is None or result.txts is None or result.scores is None:
        return {"text": "", "lines": []}
    lines = [
        {
            "text": text,
            "confidence": round(float(score), 3),
            "box": [_to_original(picture, x, y) for x, y in box.tolist()],
        }
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
    ]
    return {"text": "\n".join(line["text"] for line in lines), "lines": lines}


def _to_original(picture: Picture, x: float, y: float) -> list[int]:
    return [
        min(max(picture.to_original(x), 0), picture.original_width),
        min(max(picture.to_original(y), 0), picture.original_height),
    ]


def _load(model_path: Path | None) -> Any:
    rapidocr = require("rapidocr", feature=FEATURE, extra=EXTRA)
    cv2 = require("cv2", feature=FEATURE, extra=EXTRA)
    # OpenCV's resizes would otherwise spread over every core, beside onnxruntime's one.
    cv2.setNumThreads(1)
    models = Path(str(importlib.resources.files(rapidocr) / "models"))
    recogniser = models / _RECOGNISER
    if model_path is not None:
        _check_recogniser(model_path)
        recogniser = model_path
    params = {
        "Global.log_level": "error",
        # The picture is already at most MAX_SIDE: no second resize before detection.
        "Global.max_side_len": MAX_SIDE,
        "Det.limit_type": "max",
        "Det.limit_side_len": MAX_SIDE,
        "Det.model_path": str(models / _DETECTOR),
        "Cls.model_path": str(models / _CLASSIFIER),
        "Rec.model_path": str(recogniser),
        # One worker process, one core: the worker pool is the parallelism.
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    return rapidocr.RapidOCR(params=params)


def _check_recogniser(path: Path) -> None:
    """Refuse a recogniser without its character list: RapidOCR would download one."""
    onnxruntime = require("onnxruntime", feature=FEATURE, extra=EXTRA)
    if not path.is_file():
        raise ConfigurationError(f"The OCR model file {path} does not exist.")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if "character" not in session.get_modelmeta().custom_metadata_map:
        raise ConfigurationError(
            f"The OCR model {path} has no 'character' list in its metadata; use a PP-OCR "
            "recognition model exported with one (as RapidOCR's are)."
        )


def _require_extra() -> Any:
    require("onnxruntime", feature=FEATURE, extra=EXTRA)
    require("rapidocr", feature=FEATURE, extra=EXTRA)
    return require("numpy", feature=FEATURE, extra=EXTRA)
