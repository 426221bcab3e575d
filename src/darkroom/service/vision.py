"""What the imaging core needs from the models for face gravity, face redaction and
background removal: the faces and the foreground mask of an original, detected here and
kept per process (an original never changes, and a face-aware render is asked again and
again at other sizes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pyvips

from darkroom.analysis import background, faces
from darkroom.analysis.picture import load_picture
from darkroom.imaging import ImageInfo, TransformSpec
from darkroom.imaging.spec import needs_background_mask, needs_faces
from darkroom.service.context import Context

FACES_KEPT = 4096
"""Face lists kept per process: a few numbers each."""
MASKS_KEPT = 16
"""Foreground masks kept per process: up to 1 MB each."""

_faces: OrderedDict[str, tuple[tuple[int, int, int, int], ...]] = OrderedDict()
_masks: OrderedDict[str, pyvips.Image] = OrderedDict()
_lock = threading.Lock()


def check(ctx: Context, spec: TransformSpec) -> None:
    """Refuse a spec whose models this deployment lacks (ExtraNotInstalled, naming the pip
    install), before it is stored as a profile or rendered."""
    if needs_faces(spec):
        faces.model_info()
    if needs_background_mask(spec):
        background.model_info(ctx.settings.analysis_models.get("background"))


def inputs(
    ctx: Context, key: str, data: bytes, spec: TransformSpec, info: ImageInfo | None = None
) -> dict[str, Any]:
    """The `faces` and `background_mask` keywords `render` needs for `spec` on this original.

    `key` names the original's bytes (its storage key or source scope): detections are
    kept by it.
    """
    found: dict[str, Any] = {}
    if needs_faces(spec):
        found["faces"] = list(_detect_faces(ctx, key, data, info))
    if needs_background_mask(spec):
        found["background_mask"] = _mask(ctx, key, data, info)
    return found


def _detect_faces(
    ctx: Context, key: str, data: bytes, info: ImageInfo | None
) -> tuple[tuple[int, int, int, int], ...]:
    with _lock:
        if key in _faces:
            _faces.move_to_end(key)
            return _faces[key]
    picture = load_picture(data, faces.MAX_SIDE, limits=ctx.limits, info=info)
    boxes = tuple(face.box for face in faces.detect(picture))
    _keep(_faces, key, boxes, FACES_KEPT)
    return boxes


def _mask(ctx: Context, key: str, data: bytes, info: ImageInfo | None) -> pyvips.Image:
    with _lock:
        if key in _masks:
            _masks.move_to_end(key)
            return _masks[key]
    picture = load_picture(data, background.MAX_SIDE, limits=ctx.limits, info=info)
    model = ctx.settings.analysis_models.get("background")
    found = background.mask(picture, model_path=model).copy_memory()
    _keep(_masks, key, found, MASKS_KEPT)
    return found


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
