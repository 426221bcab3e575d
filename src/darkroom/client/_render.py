"""Signed on-demand render URLs, built from spec options as `GET /v1/render` reads them."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from darkroom.signing import sign

QUERY_NAMES = {
    "width": "w",
    "height": "h",
    "fit": "fit",
    "gravity": "g",
    "enlarge": "enlarge",
    "crop": "crop",
    "rotate": "rot",
    "flip": "flip",
    "flop": "flop",
    "auto_orient": "ao",
    "blur": "blur",
    "sharpen": "sharpen",
    "background": "bg",
    "format": "fmt",
    "quality": "q",
    "strip": "strip",
    "progressive": "prog",
    "lossless": "lossless",
    "dpr": "dpr",
    "redact": "redact",
    "remove_background": "rmbg",
}
"""Spec field name to query name; the query names themselves are accepted as they are."""

Value = str | int | float | bool | Mapping[str, int] | tuple[int, int, int, int]


def render_path(image_id: str, profile: str | None, spec: Mapping[str, Value]) -> str:
    """The unsigned path and query of a render of `image_id` (by `profile`, or by `spec`)."""
    path = f"/v1/render/{quote(image_id, safe='')}"
    if profile is not None:
        path += f"/{quote(profile, safe='')}"
    query = urlencode([(QUERY_NAMES.get(name, name), _text(v)) for name, v in spec.items()])
    return f"{path}?{query}" if query else path


def signed_render_url(
    base_url: str, image_id: str, key: str | bytes, profile: str | None, spec: Mapping[str, Value]
) -> str:
    """The full render URL, signed with `key` (the server's first DARKROOM_SIGNING_KEYS)."""
    return base_url.rstrip("/") + sign(render_path(image_id, profile, spec), key)


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Mapping):  # a crop: {"left", "top", "width", "height"}
        value = (value.get("left", 0), value.get("top", 0), value["width"], value["height"])
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    return str(value)
