"""The query options of the render routes, declared for OpenAPI only.

The render handlers parse `request.query_params` themselves (`parse_query`), on the fast
path that skips FastAPI's parameter injection; these declarations reach the routes through
`openapi_extra`, so they cost nothing per request. The names are `imaging.query`'s short
names; the values mirror the spec's rules (README, "The transformation spec").
"""

from __future__ import annotations

from typing import Any

from darkroom.imaging.spec import MAX_DIMENSION, Fit, Gravity, OutputFormat, RedactMode

_GRAVITIES = [g.value for g in Gravity]
_GRAVITY_ALIASES = ["center", "c", "n", "ne", "e", "se", "s", "sw", "w", "nw", "smart"]
_FORMATS = [f.value for f in OutputFormat] + ["jpg", "tif"]
_BOOLEAN_NOTE = " Booleans also read 1/0, yes/no, on/off."


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _flag(name: str, description: str, default: bool) -> dict[str, Any]:
    schema = {"type": "boolean", "default": default}
    return _query(name, schema, description + _BOOLEAN_NOTE)


def _sigma(name: str, maximum: float, description: str) -> dict[str, Any]:
    off = {"type": "number", "const": 0}
    schema = {"anyOf": [off, {"type": "number", "minimum": 0.3, "maximum": maximum}]}
    return _query(name, schema, description + " 0 turns it off.")


_SIDE = {"type": "integer", "minimum": 1, "maximum": MAX_DIMENSION}

SIGNATURE = _query(
    "sig",
    {"type": "string"},
    "HMAC-SHA256 signature of the path and query (see docs/signing.md); required unless "
    "the server allows unsigned URLs.",
)

OPTIONS: list[dict[str, Any]] = [
    _query("w", _SIDE, "Target width in CSS pixels (multiplied by dpr)."),
    _query("h", _SIDE, "Target height in CSS pixels (multiplied by dpr)."),
    _query(
        "fit",
        {"type": "string", "enum": [f.value for f in Fit], "default": "contain"},
        "How the image fills the box; all but contain need both w and h.",
    ),
    _query(
        "g",
        {"type": "string", "enum": _GRAVITIES + _GRAVITY_ALIASES, "default": "centre"},
        "Region kept by fit=cover, placement for fit=pad. face (fit=cover) keeps the "
        "detected faces in the cut, or falls back to attention when there are none.",
    ),
    _flag("enlarge", "Allow upscaling past the source size.", False),
    _query(
        "crop",
        {"type": "string", "pattern": r"^\d+,\d+,\d+,\d+$"},
        "left,top,width,height in pixels of the upright original, cut before resizing.",
    ),
    _query(
        "rot",
        {"type": "integer", "multipleOf": 90, "default": 0},
        "Clockwise rotation in degrees, a multiple of 90.",
    ),
    _flag("flip", "Mirror top to bottom.", False),
    _flag("flop", "Mirror left to right.", False),
    _flag("ao", "Apply, then clear, the EXIF orientation.", True),
    _sigma("blur", 100, "Gaussian blur sigma."),
    _sigma("sharpen", 10, "Unsharp mask sigma."),
    _query(
        "bg",
        {"type": "string", "examples": ["ffffff", "255,255,255", "white"]},
        "Padding colour: rgb, rgba, rrggbb or rrggbbaa hex (# optional), r,g,b[,a], or a name.",
    ),
    _query(
        "fmt",
        {"type": "string", "enum": _FORMATS, "default": "original"},
        "Output format; auto picks AVIF, then WebP, from Accept.",
    ),
    _query(
        "q",
        {"type": "integer", "minimum": 1, "maximum": 100},
        "Quality of lossy encoders (jpeg, webp, avif, tiff).",
    ),
    _flag("strip", "Drop EXIF/XMP/IPTC/ICC metadata.", True),
    _flag("prog", "Progressive JPEG, interlaced PNG/GIF.", False),
    _flag("lossless", "Lossless WebP/AVIF.", False),
    _query(
        "dpr",
        {"type": "number", "minimum": 1, "maximum": 4, "default": 1},
        "Device pixel ratio multiplying sizes.",
    ),
    _query(
        "redact",
        {"type": "string", "enum": [m.value for m in RedactMode]},
        "Hide every detected face (its box padded by 20 %) on every frame: a strong blur, "
        "pixelation (about 8 blocks across) or a solid fill with bg (black by default).",
    ),
    _flag(
        "rmbg",
        "Remove the background: alpha from a segmentation mask. Still images only; the "
        "format must keep alpha (png, webp, avif, tiff; auto and original pick one).",
        False,
    ),
]
"""One parameter per short query name of the spec."""

MAX_REMOTE_URL = 2048
"""Longest source URL of a remote render: with its options, the request line stays within
what HTTP servers read (a percent-encoded character takes up to 12 bytes)."""

REMOTE_URL = {
    **_query(
        "url",
        {"type": "string", "format": "uri", "maxLength": MAX_REMOTE_URL},
        "The source image: an http(s) URL on an origin of DARKROOM_RENDER_ALLOW_HOSTS.",
    ),
    "required": True,
}


def parameters(*extra: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` adding these query parameters to a route's."""
    return {"parameters": list(extra)}
