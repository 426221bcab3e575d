"""imgproxy's processing options (`rs:fill:300:200`, `g:sm`, `q:80`...), parsed in order."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from darkroom.compat.common import Fields, spec_problem, unsupported

RESIZING_TYPES = frozenset({"fit", "fill", "fill-down", "force", "auto"})
COMPASS = {
    "no": "north",
    "so": "south",
    "ea": "east",
    "we": "west",
    "noea": "northeast",
    "nowe": "northwest",
    "soea": "southeast",
    "sowe": "southwest",
    "ce": "centre",
}
_FORMATS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "gif": "gif",
    "tiff": "tiff",
    "best": "auto",
}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}
_HEX = re.compile(r"[0-9a-fA-F]{6}")


@dataclass
class Gravity:
    """A gravity option: a compass point, `sm`, or a focus point `fp:x:y`."""

    kind: str = "ce"
    x: float = 0.5
    y: float = 0.5


@dataclass
class Options:
    """The processing options of one URL, as imgproxy keeps them."""

    resizing_type: str = "fit"
    width: int = 0
    height: int = 0
    enlarge: bool = False
    extend: bool = False
    extend_gravity: Gravity = field(default_factory=Gravity)
    gravity: Gravity = field(default_factory=Gravity)
    crop: tuple[float, float] | None = None
    crop_gravity: Gravity | None = None
    fields: Fields = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    presets: list[str] = field(default_factory=list)
    geometry_set: bool = False

    def set(self, spec_field: str, value: object, option: str) -> None:
        """Set a spec field, remembering which option set it (for error messages)."""
        self.fields[spec_field] = value
        self.names[spec_field] = option


def apply_option(options: Options, name: str, args: list[str]) -> None:
    """Apply one `name:args` option to `options` (later options win, as in imgproxy)."""
    handler = _OPTIONS.get(name)
    if handler is None:
        raise unsupported(name, "imgproxy option", f"Supported: {_known()}.")
    handler(options, name, args)


def _arity(name: str, args: list[str], least: int, most: int) -> None:
    if not least <= len(args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise spec_problem(name, f"takes {wanted} arguments, got {len(args)}")


def _int(name: str, value: str) -> int:
    if not re.fullmatch(r"\d+", value):
        raise spec_problem(name, f"expected a whole number of 0 or more, got {value!r}")
    return int(value)


def _float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise spec_problem(name, f"expected a number, got {value!r}") from None
    if number < 0:
        raise spec_problem(name, f"expected a number of 0 or more, got {value}")
    return number


def _bool(name: str, value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise spec_problem(name, f"expected a boolean (1/0, true/false), got {value!r}")


def _resizing_type(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    if args[0] not in RESIZING_TYPES:
        raise spec_problem(name, f"expected one of {', '.join(sorted(RESIZING_TYPES))}")
    o.resizing_type = args[0]
    o.geometry_set = True


def _width(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    o.width = _int(name, args[0])
    o.geometry_set = True


def _height(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    o.height = _int(name, args[0])
    o.geometry_set = True


def _enlarge(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    o.enlarge = _bool(name, args[0])
    o.geometry_set = True


def _extend(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 4)
    o.extend = _bool(name, args[0])
    if len(args) > 1 and args[1]:
        o.extend_gravity = _gravity(name, args[1:], smart=False)
    o.geometry_set = True


def _size(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 0, 7)
    for apply, arg in ((_width, 0), (_height, 1), (_enlarge, 2)):
        if len(args) > arg and args[arg]:
            apply(o, name, [args[arg]])
    if len(args) > 3 and args[3]:
        _extend(o, name, args[3:])
    o.geometry_set = True


def _resize(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 8)
    if args[0]:
        _resizing_type(o, name, args[:1])
    _size(o, name, args[1:])


def _gravity(name: str, args: list[str], *, smart: bool = True) -> Gravity:
    kind = args[0]
    if kind == "sm" and smart:
        if len(args) > 1:
            raise spec_problem(name, "g:sm takes no offsets")
        return Gravity("sm")
    if kind == "fp" and smart:
        if len(args) != 3:
            raise spec_problem(name, "expected fp:x:y with x and y from 0 to 1")
        x, y = _float(name, args[1]), _float(name, args[2])
        if x > 1 or y > 1:
            raise spec_problem(name, "fp:x:y takes fractions from 0 to 1")
        return Gravity("fp", x, y)
    if kind not in COMPASS:
        known = ", ".join([*COMPASS, *(["sm", "fp"] if smart else [])])
        raise spec_problem(name, f"unknown gravity {kind!r}; expected one of {known}")
    if len(args) > 3:
        raise spec_problem(name, "expected gravity[:x_offset[:y_offset]]")
    if any(arg and _float(name, arg) != 0 for arg in args[1:]):
        raise spec_problem(name, "gravity offsets are not supported by Darkroom; drop them")
    return Gravity(kind)


def _gravity_option(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 3)
    o.gravity = _gravity(name, args)
    o.geometry_set = True


def _crop(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 5)
    width = _float(name, args[0])
    height = _float(name, args[1]) if len(args) > 1 and args[1] else 0.0
    o.crop = (width, height)
    o.crop_gravity = _gravity(name, args[2:]) if len(args) > 2 and args[2] else None
    o.geometry_set = True


def _padding(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 4)
    top = _int(name, args[0]) if args[0] else 0
    right = _int(name, args[1]) if len(args) > 1 and args[1] else top
    bottom = _int(name, args[2]) if len(args) > 2 and args[2] else top
    left = _int(name, args[3]) if len(args) > 3 and args[3] else right
    sides = {"top": top, "right": right, "bottom": bottom, "left": left}
    o.set("padding", sides if any(sides.values()) else None, name)


def _background(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 3)
    if len(args) == 1:
        if not args[0]:
            o.set("background", None, name)
            return
        if not _HEX.fullmatch(args[0]):
            raise spec_problem(name, f"expected a hex colour RRGGBB or R:G:B, got {args[0]!r}")
        o.set("background", f"#{args[0]}", name)
        return
    if len(args) != 3:
        raise spec_problem(name, "expected a hex colour RRGGBB or R:G:B")
    rgb = [_int(name, value) for value in args]
    if any(value > 255 for value in rgb):
        raise spec_problem(name, "colour components go from 0 to 255")
    o.set("background", ",".join(str(v) for v in rgb), name)


def _spec_number(spec_field: str, parse: Callable[[str, str], float]) -> Callable[..., None]:
    def apply(o: Options, name: str, args: list[str]) -> None:
        _arity(name, args, 1, 1)
        value = parse(name, args[0])
        # imgproxy's 0 means "off" or "the default": the spec's default.
        o.set(spec_field, value or None, name)

    return apply


def _dpr(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    o.set("dpr", _float(name, args[0]), name)


def _auto_rotate(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    o.set("auto_orient", _bool(name, args[0]), name)


def _rotate(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    if not re.fullmatch(r"-?\d+", args[0]) or int(args[0]) % 90:
        raise spec_problem(name, "the angle must be a multiple of 90")
    o.set("rotate", int(args[0]) % 360, name)


def _flip(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 2)
    if args[0]:
        o.set("flop", _bool(name, args[0]), name)  # imgproxy's horizontal flip
    if len(args) > 1 and args[1]:
        o.set("flip", _bool(name, args[1]), name)


def _format(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    fmt = _FORMATS.get(args[0].lower())
    if fmt is None:
        raise spec_problem(name, f"expected one of {', '.join(_FORMATS)}, got {args[0]!r}")
    o.set("format", fmt, name)


def _strip_metadata(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 1)
    o.set("strip", _bool(name, args[0]), name)


def _preset(o: Options, name: str, args: list[str]) -> None:
    _arity(name, args, 1, 16)
    if not all(re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", arg) for arg in args):
        raise spec_problem(name, "expected Darkroom profile names")
    o.presets.extend(args)


def _cachebuster(o: Options, name: str, args: list[str]) -> None:
    # It only makes the URL (so the cache key) differ; nothing to render differently.
    _arity(name, args, 1, 1)


_OPTIONS: dict[str, Callable[[Options, str, list[str]], None]] = {}
for _names, _handler in (
    (("resize", "rs"), _resize),
    (("size", "s"), _size),
    (("resizing_type", "rt"), _resizing_type),
    (("width", "w"), _width),
    (("height", "h"), _height),
    (("enlarge", "el"), _enlarge),
    (("extend", "ex"), _extend),
    (("gravity", "g"), _gravity_option),
    (("crop", "c"), _crop),
    (("padding", "pd"), _padding),
    (("background", "bg"), _background),
    (("dpr",), _dpr),
    (("auto_rotate", "ar"), _auto_rotate),
    (("rotate", "rot"), _rotate),
    (("flip", "fl"), _flip),
    (("blur", "bl"), _spec_number("blur", _float)),
    (("sharpen", "sh"), _spec_number("sharpen", _float)),
    (("quality", "q"), _spec_number("quality", _int)),
    (("format", "f", "ext"), _format),
    (("strip_metadata", "sm"), _strip_metadata),
    (("preset", "pr"), _preset),
    (("cachebuster", "cb"), _cachebuster),
):
    for _name in _names:
        _OPTIONS[_name] = _handler


def _known() -> str:
    return ", ".join(sorted(_OPTIONS))
