"""thumbor's filters (`filters:quality(80):format(webp)`), each translated into spec fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from darkroom.compat.common import Fields, Source, parse_source, spec_problem, unsupported

_NAME = re.compile(r"([a-z_]+)\(")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_FORMATS = {
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "gif": "gif",
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_POSITION = re.compile(r"(-?)(\d+)")


@dataclass(frozen=True)
class WatermarkFilter:
    """`watermark(IMAGE,x,y,alpha[,w_ratio[,h_ratio]])`: the mark's source and fields."""

    source: Source
    fields: Fields


@dataclass
class Filters:
    """What the filters of a thumbor URL ask for."""

    fields: Fields = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    no_upscale: bool = False
    upscale: bool = False
    stretch: bool = False
    fill: str | None = None
    focus: tuple[int, int, int, int] | None = None
    watermark: WatermarkFilter | None = None

    def set(self, spec_field: str, value: object, filter_name: str) -> None:
        """Set a spec field, remembering which filter set it (for error messages)."""
        self.fields[spec_field] = value
        self.names[spec_field] = f"{filter_name}()"


def parse_filters(text: str) -> tuple[Filters, str]:
    """The filters at the start of `text` (after `filters:`) and the rest after their `/`."""
    filters = Filters()
    rest = text
    while True:
        match = _NAME.match(rest)
        if match is None:
            raise spec_problem("filters", f"expected name(arguments) at {rest[:40]!r}")
        name = match.group(1)
        close = rest.find(")", match.end())
        if close < 0:
            raise spec_problem(f"{name}()", "its argument list has no closing parenthesis")
        raw = rest[match.end() : close]
        args = [arg.strip() for arg in raw.split(",")] if raw.strip() else []
        handler = _FILTERS.get(name)
        if handler is None:
            raise unsupported(f"{name}()", "thumbor filter", f"Supported: {_known()}.")
        handler(filters, args)
        rest = rest[close + 1 :]
        if rest.startswith(":"):
            rest = rest[1:]
            continue
        if rest.startswith("/"):
            return filters, rest[1:]
        raise spec_problem("filters", "filters must end with / before the image")


def _number(name: str, value: str, *, minimum: float | None = None) -> float:
    if not _NUMBER.fullmatch(value):
        raise spec_problem(f"{name}()", f"expected a number, got {value!r}")
    number = float(value)
    if minimum is not None and number < minimum:
        raise spec_problem(f"{name}()", f"must be at least {minimum:g}, got {value}")
    return number


def _arity(name: str, args: list[str], least: int, most: int) -> None:
    if not least <= len(args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise spec_problem(f"{name}()", f"takes {wanted} arguments, got {len(args)}")


def _boolean(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise spec_problem(f"{name}()", f"expected true or false, got {value!r}")


def _colour(name: str, value: str) -> str:
    if value in ("auto", "blur"):
        raise unsupported(f"{name}({value})", "thumbor filter", "Give a colour name or hex.")
    if re.fullmatch(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}", value):
        return f"#{value}"
    if re.fullmatch(r"[a-zA-Z]+", value):
        return value.lower()
    raise spec_problem(f"{name}()", f"expected a colour name or hex, got {value!r}")


def _quality(f: Filters, args: list[str]) -> None:
    _arity("quality", args, 1, 1)
    f.set("quality", int(_number("quality", args[0], minimum=1)), "quality")


def _format(f: Filters, args: list[str]) -> None:
    _arity("format", args, 1, 1)
    fmt = _FORMATS.get(args[0].lower())
    if fmt is None:
        raise spec_problem("format()", f"expected one of {', '.join(_FORMATS)}, got {args[0]!r}")
    f.set("format", fmt, "format")


def _blur(f: Filters, args: list[str]) -> None:
    _arity("blur", args, 1, 2)
    radius = _number("blur", args[0], minimum=0)
    sigma = _number("blur", args[1], minimum=0) if len(args) > 1 else 0.0
    # thumbor's sigma defaults to the radius; the radius only bounds its kernel.
    f.set("blur", sigma or radius, "blur")


def _sharpen(f: Filters, args: list[str]) -> None:
    _arity("sharpen", args, 2, 3)
    amount = _number("sharpen", args[0], minimum=0)
    radius = _number("sharpen", args[1], minimum=0)
    if len(args) > 2:
        _boolean("sharpen", args[2])  # libvips sharpens lightness alone either way
    f.set("sharpen", radius, "sharpen")
    if amount:
        f.set("sharpen_amount", amount, "sharpen")


def _fill(f: Filters, args: list[str]) -> None:
    _arity("fill", args, 1, 2)
    f.fill = _colour("fill", args[0])
    if len(args) > 1:
        _boolean("fill", args[1])  # transparent areas take the colour either way
    f.set("background", f.fill, "fill")


def _background_color(f: Filters, args: list[str]) -> None:
    _arity("background_color", args, 1, 1)
    f.set("background", _colour("background_color", args[0]), "background_color")


def _flag(attribute: str) -> Callable[[Filters, list[str]], None]:
    def apply(f: Filters, args: list[str]) -> None:
        _arity(attribute, args, 0, 0)
        setattr(f, attribute, True)

    return apply


def _strip(name: str) -> Callable[[Filters, list[str]], None]:
    def apply(f: Filters, args: list[str]) -> None:
        _arity(name, args, 0, 0)
        f.set("strip", True, name)  # Darkroom strips metadata and ICC (to sRGB) by default

    return apply


def _grayscale(f: Filters, args: list[str]) -> None:
    _arity("grayscale", args, 0, 0)
    f.set("grayscale", True, "grayscale")


def _rotate(f: Filters, args: list[str]) -> None:
    _arity("rotate", args, 1, 1)
    degrees = _number("rotate", args[0])
    if degrees % 90:
        raise spec_problem("rotate()", "Darkroom rotates by multiples of 90 degrees only")
    f.set("rotate", int(degrees) % 360, "rotate")


def _round_corner(f: Filters, args: list[str]) -> None:
    _arity("round_corner", args, 4, 5)
    radii = args[0].split("|")
    if len(radii) > 2 or not all(r.isdigit() for r in radii):
        raise spec_problem("round_corner()", f"expected a radius a or a|b, got {args[0]!r}")
    rgb = [int(_number("round_corner", v, minimum=0)) for v in args[1:4]]
    transparent = len(args) > 4 and _boolean("round_corner", args[4])
    corners: Fields = {"radius": int(radii[0])}
    if len(radii) == 2:
        corners["radius_y"] = int(radii[1])
    if not transparent:
        corners["color"] = ",".join(str(v) for v in rgb)
    f.set("corners", corners, "round_corner")


def _focal(f: Filters, args: list[str]) -> None:
    _arity("focal", args, 1, 1)
    match = re.fullmatch(r"(\d+)x(\d+):(\d+)x(\d+)", args[0])
    if match is None:
        raise spec_problem("focal()", f"expected LEFTxTOP:RIGHTxBOTTOM, got {args[0]!r}")
    left, top, right, bottom = (int(g) for g in match.groups())
    f.focus = (left, top, right, bottom)
    f.names["focus"] = "focal()"


def _watermark(f: Filters, args: list[str]) -> None:
    _arity("watermark", args, 4, 6)
    source = parse_source(args[0], option="watermark()")
    alpha = _number("watermark", args[3], minimum=0)
    if alpha >= 100:
        raise spec_problem("watermark()", "alpha 100 makes the mark invisible; use 0 to 99")
    fields: Fields = {"opacity": round(1 - alpha / 100, 4)}
    horizontal, margin_x = _position("watermark", args[1], ("west", "east"))
    vertical, margin_y = _position("watermark", args[2], ("north", "south"))
    fields["position"] = (vertical + horizontal) or "centre"
    fields["margin"] = margin_x
    fields["margin_y"] = margin_y
    if len(args) > 4 and args[4] not in ("", "none"):
        fields["size"] = _number("watermark", args[4], minimum=1) / 100
    if len(args) > 5 and args[5] not in ("", "none"):
        raise spec_problem(
            "watermark()", "h_ratio is not supported: give the width ratio (w_ratio) alone"
        )
    f.watermark = WatermarkFilter(source, fields)
    f.names["watermark"] = "watermark()"


def _position(name: str, value: str, sides: tuple[str, str]) -> tuple[str, int]:
    if value == "center":
        return "", 0
    match = _POSITION.fullmatch(value)
    if match is None:
        raise spec_problem(
            f"{name}()",
            f"position {value!r} is not supported: use pixels (10 from the start, -10 from "
            "the end) or center",
        )
    return (sides[1] if match.group(1) else sides[0]), int(match.group(2))


_FILTERS: dict[str, Callable[[Filters, list[str]], None]] = {
    "quality": _quality,
    "format": _format,
    "blur": _blur,
    "sharpen": _sharpen,
    "fill": _fill,
    "background_color": _background_color,
    "no_upscale": _flag("no_upscale"),
    "upscale": _flag("upscale"),
    "stretch": _flag("stretch"),
    "strip_exif": _strip("strip_exif"),
    "strip_icc": _strip("strip_icc"),
    "grayscale": _grayscale,
    "rotate": _rotate,
    "round_corner": _round_corner,
    "focal": _focal,
    "watermark": _watermark,
}


def _known() -> str:
    return ", ".join(sorted(_FILTERS))
