"""The analyses a caller can ask for, by name, and running one on an image's bytes."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from darkroom.analysis.model import ModelInfo
from darkroom.analysis.picture import load_picture
from darkroom.errors import ExtraNotInstalled, UnknownAnalysis
from darkroom.imaging.limits import DEFAULT_LIMITS, Limits

ANALYSES = ("colors", "faces", "labels", "logos", "nsfw", "ocr")
"""Every analysis, by the name callers use; each is the module of the same name."""
REPLACEABLE_MODELS = ("background", "labels", "nsfw", "ocr")
"""What runs a model file of the user's own (OCR: its recogniser); faces' network is
compiled in, colours and logos have no model."""


@dataclass(frozen=True)
class Options:
    """How a deployment runs its analyzers."""

    model_paths: Mapping[str, Path] = field(default_factory=dict)
    """A user's own model file per analysis, instead of the packaged one."""
    nsfw_threshold: float = 0.8
    """The score from which an image is flagged `nsfw: true`."""


def module(name: str) -> ModuleType:
    """The analyzer module of `name`; UnknownAnalysis if there is none."""
    if name not in ANALYSES:
        raise UnknownAnalysis(
            f"Unknown analysis {name!r}: choose from {', '.join(ANALYSES)}.",
            details={"analysis": name, "known": list(ANALYSES)},
        )
    return importlib.import_module(f"darkroom.analysis.{name}")


def check_installed(name: str, options: Options | None = None) -> ModelInfo:
    """The model `name` runs with; ExtraNotInstalled naming the pip install if it cannot run.

    Cheap: the extra is imported, no model is loaded.
    """
    path = (options or Options()).model_paths.get(name)
    info: ModelInfo = module(name).model_info(path)
    return info


def installed() -> tuple[str, ...]:
    """The analyses whose extras are installed in this process."""
    available = []
    for name in ANALYSES:
        try:
            check_installed(name)
        except ExtraNotInstalled:
            continue
        available.append(name)
    return tuple(available)


def run(
    name: str,
    data: bytes,
    options: Options | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
    references: Sequence[Any] = (),
) -> tuple[dict[str, Any], ModelInfo]:
    """The result of analysis `name` on an image's bytes, and the model that produced it.

    `references` are the registered logos (`logos.Reference`), for the logos analysis.
    """
    options = options or Options()
    analyzer = module(name)
    path = options.model_paths.get(name)
    model = check_installed(name, options)
    picture = load_picture(data, analyzer.MAX_SIDE, limits=limits)
    if name == "logos":
        result: dict[str, Any] = analyzer.analyze(picture, references, model_path=path)
    else:
        extra = {"threshold": options.nsfw_threshold} if name == "nsfw" else {}
        result = analyzer.analyze(picture, model_path=path, **extra)
    return result, model
