"""What the imaging core's face and background ops need, found by the models: the faces
and the foreground mask of an original, as `render(..., faces=, background_mask=)` takes
them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyvips

from darkroom.analysis import background, faces
from darkroom.analysis.picture import load_picture
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits
from darkroom.imaging.probe import ImageInfo
from darkroom.imaging.spec import TransformSpec, needs_background_mask, needs_faces

Box = tuple[int, int, int, int]


def check(spec: TransformSpec, *, background_model: Path | None = None) -> None:
    """ExtraNotInstalled (naming the pip install) if `spec` needs a model that is missing."""
    if needs_faces(spec):
        faces.model_info()
    if needs_background_mask(spec):
        background.model_info(background_model)


def face_boxes(
    data: bytes, *, limits: Limits = DEFAULT_LIMITS, info: ImageInfo | None = None
) -> tuple[Box, ...]:
    """The faces of an original, `[x, y, w, h]` in its upright pixels."""
    picture = load_picture(data, faces.MAX_SIDE, limits=limits, info=info)
    return tuple(face.box for face in faces.detect(picture))


def foreground_mask(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    info: ImageInfo | None = None,
    model_path: Path | None = None,
) -> pyvips.Image:
    """The foreground of an original as a 1-band mask (255 = keep), in memory."""
    picture = load_picture(data, background.MAX_SIDE, limits=limits, info=info)
    found: pyvips.Image = background.mask(picture, model_path=model_path).copy_memory()
    return found


def render_inputs(
    spec: TransformSpec,
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    info: ImageInfo | None = None,
    background_model: Path | None = None,
) -> dict[str, Any]:
    """The `faces` and `background_mask` keywords `render` needs for `spec`, found now."""
    found: dict[str, Any] = {}
    if needs_faces(spec):
        found["faces"] = list(face_boxes(data, limits=limits, info=info))
    if needs_background_mask(spec):
        found["background_mask"] = foreground_mask(
            data, limits=limits, info=info, model_path=background_model
        )
    return found
