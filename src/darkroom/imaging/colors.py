"""Colour values as people write them: `#fff`, `ffffff80`, `255,0,0`, `white`, `[0, 0, 0]`."""

from __future__ import annotations

import re
from typing import Annotated, Any, NamedTuple

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema


class RGBA(NamedTuple):
    """An 8-bit sRGB colour with alpha (255 = opaque)."""

    r: int
    g: int
    b: int
    a: int = 255

    @property
    def opaque(self) -> bool:
        """Whether the colour has no transparency."""
        return self.a == 255

    def hex(self) -> str:
        """The canonical spelling, `#rrggbbaa`."""
        return "#{:02x}{:02x}{:02x}{:02x}".format(*self)


NAMED_COLOURS: dict[str, RGBA] = {
    "white": RGBA(255, 255, 255),
    "black": RGBA(0, 0, 0),
    "transparent": RGBA(0, 0, 0, 0),
    "red": RGBA(255, 0, 0),
    "green": RGBA(0, 128, 0),
    "blue": RGBA(0, 0, 255),
    "grey": RGBA(128, 128, 128),
    "gray": RGBA(128, 128, 128),
}

_HEX = re.compile(r"#?([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_HELP = (
    "use a hex colour (#fff, #ffffff, #ffffff80), 'r,g,b' or 'r,g,b,a' with 0-255 values, "
    f"or one of: {', '.join(sorted(NAMED_COLOURS))}"
)


def parse_color(value: Any) -> RGBA:
    """Read a colour from any accepted spelling; raise ValueError with the accepted forms."""
    if isinstance(value, RGBA):
        return value
    if isinstance(value, list | tuple):
        return _from_components(list(value))
    if not isinstance(value, str):
        raise ValueError(f"not a colour: {value!r}; {_HELP}")
    text = value.strip().lower()
    if text in NAMED_COLOURS:
        return NAMED_COLOURS[text]
    match = _HEX.fullmatch(text)
    if match:
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        if len(digits) == 6:
            digits += "ff"
        return RGBA(*(int(digits[i : i + 2], 16) for i in range(0, 8, 2)))
    if "," in text:
        return _from_components(text.split(","))
    raise ValueError(f"not a colour: {value!r}; {_HELP}")


def _from_components(parts: list[Any]) -> RGBA:
    if len(parts) not in (3, 4):
        raise ValueError(f"a colour has 3 or 4 components, got {len(parts)}; {_HELP}")
    try:
        numbers = [int(str(p).strip()) for p in parts]
    except ValueError:
        raise ValueError(f"colour components must be whole numbers 0-255; {_HELP}") from None
    if any(not 0 <= n <= 255 for n in numbers):
        raise ValueError(f"colour components must be within 0-255; {_HELP}")
    return RGBA(*numbers)


Color = Annotated[
    RGBA,
    BeforeValidator(parse_color),
    PlainSerializer(lambda c: c.hex(), return_type=str),
    WithJsonSchema({"type": "string", "examples": ["#ffffff", "fff", "255,255,255", "white"]}),
]
