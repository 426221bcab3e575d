"""imgproxy's sizing for a source of known size: crop, resizing type, enlarge, extend."""

from __future__ import annotations

from darkroom.compat.common import Fields, spec_problem
from darkroom.compat.imgproxy_options import COMPASS, Gravity, Options
from darkroom.imaging.geometry import gravity_offset
from darkroom.imaging.spec import Gravity as SpecGravity


def fields_for(options: Options, size: tuple[int, int], *, faces: bool) -> Fields:
    """The spec fields of `options` for a source whose upright size is `size`."""
    fields: Fields = dict(options.fields)
    src_w, src_h = size
    if options.crop is not None:
        crop = _crop(options, size)
        if crop is not None:
            fields["crop"] = crop
            src_w, src_h = crop["width"], crop["height"]
    _resize(fields, options, (src_w, src_h), faces=faces)
    return {k: v for k, v in fields.items() if v is not None}


def _crop(options: Options, size: tuple[int, int]) -> Fields | None:
    assert options.crop is not None
    width = _crop_side(options.crop[0], size[0])
    height = _crop_side(options.crop[1], size[1])
    if (width, height) == size:
        return None
    gravity = options.crop_gravity or options.gravity
    if gravity.kind == "sm":
        raise spec_problem("crop", "crop with gravity sm is not supported; use ce or fp:x:y")
    if gravity.kind == "fp":
        left = min(max(round(gravity.x * size[0] - width / 2), 0), size[0] - width)
        top = min(max(round(gravity.y * size[1] - height / 2), 0), size[1] - height)
    else:
        left, top = gravity_offset(SpecGravity(COMPASS[gravity.kind]), size, (width, height))
    return {"left": left, "top": top, "width": width, "height": height}


def _crop_side(value: float, side: int) -> int:
    # 0 keeps the whole side; below 1 is a fraction of it, else pixels (at most the side).
    if value == 0:
        return side
    if value < 1:
        return max(1, round(side * value))
    return min(int(value), side)


def _resize(fields: Fields, o: Options, source: tuple[int, int], *, faces: bool) -> None:
    width, height = o.width or None, o.height or None
    kind = o.resizing_type
    if width is None and height is None:
        return
    fields["enlarge"] = o.enlarge or None
    if kind == "force":
        fields["fit"] = "fill"
        fields["width"] = width or source[0]
        fields["height"] = height or source[1]
        if o.extend:
            raise spec_problem("extend", "extend with rt:force is not supported")
        return
    fields["width"], fields["height"] = width, height
    if width is None or height is None:
        return  # one side: every resizing type scales to it
    if kind == "auto":
        same = (source[0] >= source[1]) == (width >= height)
        kind = "fill" if same else "fit"
    if kind == "fit":
        if o.extend:
            _extend(fields, o)
        return
    dpr = float(fields.get("dpr") or 1)
    scale = max(width * dpr / source[0], height * dpr / source[1])
    small = scale > 1 and not o.enlarge
    if o.extend and small:
        _extend(fields, o)
        return
    if kind == "fill-down" and small:
        # The largest box of the requested shape inside the source, not the box itself.
        fields["width"] = max(1, round(width / scale))
        fields["height"] = max(1, round(height / scale))
    fields["fit"] = "cover"
    _gravity(fields, o.gravity, faces=faces)


def _extend(fields: Fields, o: Options) -> None:
    fields["fit"] = "pad"
    if o.extend_gravity.kind != "ce":
        fields["gravity"] = COMPASS[o.extend_gravity.kind]


def _gravity(fields: Fields, gravity: Gravity, *, faces: bool) -> None:
    if gravity.kind == "sm":
        fields["gravity"] = "face" if faces else "attention"
    elif gravity.kind == "fp":
        fields["focus"] = {"x": gravity.x, "y": gravity.y}
    elif gravity.kind != "ce":
        fields["gravity"] = COMPASS[gravity.kind]
