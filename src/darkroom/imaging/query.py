"""The URL form of a spec: `w=500&h=300&fit=cover&g=north&fmt=webp&q=80`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from darkroom.errors import InvalidSpec, field_problems
from darkroom.imaging.spec import TransformSpec, validate_spec

SHORT_NAMES: dict[str, str] = {
    "w": "width",
    "h": "height",
    "fit": "fit",
    "g": "gravity",
    "enlarge": "enlarge",
    "crop": "crop",
    "rot": "rotate",
    "flip": "flip",
    "flop": "flop",
    "ao": "auto_orient",
    "blur": "blur",
    "sharpen": "sharpen",
    "bg": "background",
    "fmt": "format",
    "q": "quality",
    "strip": "strip",
    "prog": "progressive",
    "lossless": "lossless",
    "dpr": "dpr",
    "redact": "redact",
    "rmbg": "remove_background",
}
"""Short query name -> spec field. Long field names are accepted too."""

_FIELD_TO_SHORT = {field: short for short, field in SHORT_NAMES.items()}
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False}
_BOOLEANS |= {"no": False, "off": False}
_BOOLEAN_FIELDS = frozenset(
    {
        "enlarge",
        "flip",
        "flop",
        "auto_orient",
        "strip",
        "progressive",
        "lossless",
        "remove_background",
    }
)
_CROP_FIELDS = ("left", "top", "width", "height")
RESERVED = frozenset({"sig"})
"""Parameters that belong to the URL, not to the transformation."""


def parse_query(query: str, *, ignore: Iterable[str] = RESERVED) -> TransformSpec:
    """Parse a URL query string of short (or long) option names into a validated spec."""
    ignored = frozenset(ignore)
    fields: dict[str, Any] = {}
    used: dict[str, str] = {}
    problems: list[tuple[str | None, str]] = []
    for key, raw in parse_qsl(query, keep_blank_values=True):
        if key in ignored:
            continue
        field = SHORT_NAMES.get(key) or (key if key in _FIELD_TO_SHORT else None)
        if field is None or field == "watermark":
            problems.append((key, f"unknown option; known: {_known()}"))
        elif field in fields:
            problems.append((key, f"given more than once (also as {used[field]})"))
        elif raw == "":
            problems.append((key, "needs a value"))
        else:
            try:
                fields[field] = _convert(field, raw)
            except ValueError as exc:
                problems.append((key, str(exc)))
            used[field] = key
    if problems:
        summary, details = field_problems(problems)
        raise InvalidSpec(f"Invalid transformation: {summary}", details=details)
    names = used | {f"crop.{part}": used.get("crop", "crop") for part in _CROP_FIELDS}
    names["redact.faces"] = used.get("redact", "redact")
    return validate_spec(fields, names=names)


def to_query(spec: TransformSpec) -> str:
    """The canonical query string of a spec: short names, sorted, defaults omitted."""
    canonical = spec.canonical()
    if "watermark" in canonical:
        raise InvalidSpec("a spec with a watermark cannot be written as a URL query")
    unwritable = sorted(field for field in canonical if field not in _FIELD_TO_SHORT)
    if unwritable:
        # The fields the thumbor and imgproxy grammars reach have no short query name.
        raise InvalidSpec(f"a spec with {', '.join(unwritable)} cannot be written as a URL query")
    pairs = []
    for field, value in canonical.items():
        if field == "crop":
            crop = spec.crop
            assert crop is not None
            value = ",".join(str(getattr(crop, part)) for part in _CROP_FIELDS)
        elif field == "redact":
            redact = spec.redact
            assert redact is not None
            value = redact.faces.value
        elif field == "background":
            value = str(value).lstrip("#")  # "#" would start a URL fragment
        elif isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        pairs.append((_FIELD_TO_SHORT[field], str(value)))
    return urlencode(sorted(pairs), safe=",")


def _convert(field: str, raw: str) -> Any:
    if field in _BOOLEAN_FIELDS:
        try:
            return _BOOLEANS[raw.strip().lower()]
        except KeyError:
            raise ValueError("expected a boolean: 1/0, true/false, yes/no") from None
    if field == "crop":
        parts = raw.split(",")
        if len(parts) != 4:
            raise ValueError("expected crop=left,top,width,height in pixels")
        return dict(zip(_CROP_FIELDS, parts, strict=True))
    if field == "redact":
        # The query redacts faces only (the one kind of detection there is): redact=blur.
        return {"faces": raw}
    return raw


def _known() -> str:
    return ", ".join(sorted(SHORT_NAMES))
