"""The faces and foreground masks face-aware renders need, found by the models and kept per
process by original: an original never changes, and a face-aware render is asked again
and again at other sizes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from typing import Any

import pyvips

from darkroom.analysis import detections, faces
from darkroom.errors import ExtraNotInstalled
from darkroom.imaging import ImageInfo, TransformSpec
from darkroom.imaging.spec import needs_background_mask, needs_faces
from darkroom.service.context import Context

FACES_KEPT = 4096
"""Face lists kept per process: a few numbers each."""
MASKS_KEPT = 16
"""Foreground masks kept per process: up to 1 MB each."""

_faces: OrderedDict[str, tuple[detections.Box, ...]] = OrderedDict()
_masks: OrderedDict[str, pyvips.Image] = OrderedDict()
_lock = threading.Lock()


def check(ctx: Context, spec: TransformSpec) -> None:
    """Refuse a spec whose models this deployment lacks (ExtraNotInstalled, naming the pip
    install), before it is stored as a profile or rendered."""
    detections.check(spec, background_model=ctx.settings.analysis_models.get("background"))


@cache
def faces_available() -> bool:
    """Whether the faces extra is installed (smart crops of the compatible URLs use it)."""
    try:
        faces.model_info()
    except ExtraNotInstalled:
        return False
    return True


def inputs(
    ctx: Context, key: str, data: bytes, spec: TransformSpec, info: ImageInfo | None = None
) -> dict[str, Any]:
    """The `faces` and `background_mask` keywords `render` needs for `spec` on this original.

    `key` names the original's bytes (its storage key or source scope): what was found is
    kept by it.
    """
    found: dict[str, Any] = {}
    if needs_faces(spec):
        boxes = _kept(_faces, key)
        if boxes is None:
            boxes = detections.face_boxes(data, limits=ctx.limits, info=info)
            _keep(_faces, key, boxes, FACES_KEPT)
        found["faces"] = list(boxes)
    if needs_background_mask(spec):
        mask = _kept(_masks, key)
        if mask is None:
            model = ctx.settings.analysis_models.get("background")
            mask = detections.foreground_mask(data, limits=ctx.limits, info=info, model_path=model)
            _keep(_masks, key, mask, MASKS_KEPT)
        found["background_mask"] = mask
    return found


def _kept(cache: OrderedDict[str, Any], key: str) -> Any:
    with _lock:
        if key not in cache:
            return None
        cache.move_to_end(key)
        return cache[key]


def _keep(cache: OrderedDict[str, Any], key: str, value: Any, limit: int) -> None:
    with _lock:
        cache[key] = value
        while len(cache) > limit:
            cache.popitem(last=False)


def forget(key: str) -> None:
    """Drop what is kept of an original (when its image is deleted)."""
    with _lock:
        _faces.pop(key, None)
        _masks.pop(key, None)
