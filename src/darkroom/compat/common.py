"""What both grammars share: the source an URL names and the translated request."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from darkroom.errors import InvalidRequest, InvalidSpec
from darkroom.imaging.geometry import pre_transform_gravity
from darkroom.imaging.spec import COMPASS, TransformSpec, validate_spec

_IMAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_SOURCE_URL = 2048
"""Longest remote source URL (the limit of `/v1/render?url=`)."""


@dataclass(frozen=True)
class Source:
    """A stored image (its id) or a remote image (its http(s) URL)."""

    image_id: str | None = None
    url: str | None = None


Fields = dict[str, Any]
"""Spec fields in `TransformSpec.model_validate` form."""


@dataclass(frozen=True)
class Mark:
    """A watermark whose image is another source: its fields wait for the image's bytes."""

    source: Source
    fields: Fields


@dataclass(frozen=True)
class Translation:
    """A compatible URL in Darkroom's terms."""

    source: Source
    fields_for: Callable[[tuple[int, int]], Fields]
    """The spec fields for a source of this upright (width, height)."""
    names: dict[str, str] = field(default_factory=dict)
    """Spec field -> the option of the URL that set it, for error messages."""
    mark: Mark | None = None
    presets: tuple[str, ...] = ()
    """Darkroom profiles whose specs are the base the URL's options change (imgproxy `pr`)."""
    geometry_set: bool = True
    """Whether the URL's own sizing replaces a preset's (it always does without presets)."""

    def spec(
        self,
        size: tuple[int, int],
        *,
        mark: bytes | None = None,
        presets: Mapping[str, TransformSpec] | None = None,
    ) -> TransformSpec:
        """The validated spec for a source of `size`, with the watermark's bytes and the
        presets' specs when the URL names them."""
        fields: Fields = {}
        for name in self.presets:
            fields.update((presets or {})[name].model_dump(exclude_defaults=True))
        own = self.fields_for(size)
        if not self.geometry_set:
            own = {k: v for k, v in own.items() if k not in GEOMETRY}
        elif self.presets:
            fields = {k: v for k, v in fields.items() if k not in GEOMETRY}
        fields.update(own)
        if self.mark is not None:
            if mark is None:
                raise ValueError("this URL has a watermark: pass spec(..., mark=bytes)")
            fields["watermark"] = {**self.mark.fields, "image": mark}
        return validate_spec(fields, names=self.names)


GEOMETRY = frozenset({"width", "height", "fit", "gravity", "enlarge", "crop", "focus"})
"""The fields a URL's sizing options decide together."""


def parse_source(text: str, *, option: str) -> Source:
    """An image id, or an http(s) URL (scheme optional, as thumbor allows)."""
    if not text:
        raise InvalidRequest(f"The URL names no image ({option}).")
    if _IMAGE_ID.fullmatch(text):
        return Source(image_id=text)
    url = text if re.match(r"(?i)https?://", text) else unquote(text)
    if not re.match(r"(?i)https?://", url):
        if "://" in url:
            raise InvalidRequest(
                f"The image {text!r} ({option}) is neither a Darkroom image id nor an http(s) URL."
            )
        url = f"http://{url}"
    if len(url) > MAX_SOURCE_URL:
        raise InvalidRequest(
            f"The image URL ({option}) is longer than {MAX_SOURCE_URL} characters."
        )
    return Source(url=url)


def result_gravity(source_gravity: str, *, rotate: int, flip: bool, flop: bool) -> str:
    """The spec gravity (an edge of the result) for a gravity named on the source, which
    is then rotated and mirrored: the inverse of `pre_transform_gravity`."""
    probe = TransformSpec(rotate=rotate, flip=flip, flop=flop)
    for gravity in COMPASS:
        if pre_transform_gravity(gravity, probe).value == source_gravity:
            return gravity.value
    return source_gravity


def spec_problem(option: str, message: str) -> InvalidSpec:
    """An `InvalidSpec` naming the URL's option."""
    return InvalidSpec(
        f"Invalid transformation: {option}: {message}",
        details=[{"field": option, "message": message}],
    )


def unsupported(option: str, grammar: str, hint: str = "") -> InvalidSpec:
    """The refusal of an option Darkroom does not translate (never silently ignored)."""
    tail = f" {hint}" if hint else ""
    return spec_problem(
        option, f"the {grammar} option {option} is not supported by Darkroom.{tail}"
    )
