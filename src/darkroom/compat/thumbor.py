"""thumbor's URL grammar: `/{HMAC|unsafe}/[AxB:CxD/][fit-in/][-]Wx[-]H/[halign/][valign/]
[smart/][filters:.../]IMAGE`, translated into a spec with thumbor's geometry.

thumbor signs the path after the signature (as sent) with HMAC-SHA1 and writes the digest
in URL-safe base64 with padding.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from darkroom.compat.common import Fields, Mark, Translation, parse_source, result_gravity
from darkroom.compat.thumbor_filters import Filters, parse_filters
from darkroom.errors import Forbidden, InvalidRequest

GRAMMAR = "thumbor"
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{27}=")
_CROP = re.compile(r"(\d+)x(\d+):(\d+)x(\d+)")
_SIZE = re.compile(r"(-)?(\d+|orig)?x(-)?(\d+|orig)?")
_FIT_IN = {
    "fit-in": ("fit", False),
    "adaptive-fit-in": ("fit", True),
    "full-fit-in": ("full", False),
    "adaptive-full-fit-in": ("full", True),
}
_HALIGN = {"left": "west", "center": "", "right": "east"}
_VALIGN = {"top": "north", "middle": "", "bottom": "south"}
_REFUSED_SEGMENTS = {
    "debug": "debug/ draws focal points; Darkroom has no debug rendering.",
    "meta": "meta/ answers JSON metadata; use GET /v1/images/{id} instead.",
}


@dataclass
class _Url:
    crop: tuple[int, int, int, int] | None = None
    fit_in: str | None = None
    adaptive: bool = False
    width: int | str | None = None
    height: int | str | None = None
    flop: bool = False
    flip: bool = False
    halign: str = ""
    valign: str = ""
    smart: bool = False
    filters: Filters = field(default_factory=Filters)


def check_signature(path: str, *, key: str | None, allow_unsafe: bool) -> str:
    """The part of `path` (after `/thumbor/`, as sent) that names the image and options,
    once its signature checks out; Forbidden otherwise."""
    head, _, rest = path.partition("/")
    if head == "unsafe":
        if not allow_unsafe:
            raise Forbidden(
                "Unsigned (unsafe) thumbor URLs are off: sign the URL with "
                "DARKROOM_THUMBOR_KEY, or set DARKROOM_THUMBOR_ALLOW_UNSAFE=1 (development)."
            )
        return rest
    signature = unquote(head)
    if not rest or not _SIGNATURE.fullmatch(signature):
        raise Forbidden(
            "This thumbor URL has no signature: it must start with /thumbor/HMAC/ (the "
            "URL-safe base64 HMAC-SHA1 of the rest of the path) or /thumbor/unsafe/."
        )
    if key is None:
        raise Forbidden(
            "Signed thumbor URLs need DARKROOM_THUMBOR_KEY, the key they were signed with."
        )
    # The path is signed as sent; a proxy that decoded it once still verifies.
    for candidate in dict.fromkeys((rest, unquote(rest))):
        digest = hmac.new(key.encode("utf-8"), candidate.encode("utf-8"), hashlib.sha1).digest()
        if hmac.compare_digest(base64.urlsafe_b64encode(digest).decode("ascii"), signature):
            return rest
    raise Forbidden("The signature of this thumbor URL does not match its path.")


def signature(key: str, path: str) -> str:
    """thumbor's signature of `path` (everything after the signature segment)."""
    digest = hmac.new(key.encode("utf-8"), path.encode("utf-8"), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def parse(path: str, *, faces: bool) -> Translation:
    """Translate the options and image of a thumbor path (after the signature).

    `faces`: whether face detection is installed (`smart` keeps faces, else attention).
    """
    url = _Url()
    rest = path
    for word, message in _REFUSED_SEGMENTS.items():
        if rest.startswith(word + "/"):
            raise InvalidRequest(f"thumbor's {message}")
    if rest.startswith("trim"):
        segment = rest.partition("/")[0]
        if re.fullmatch(r"trim(:(top-left|bottom-right))?(:\d+)?", segment):
            raise InvalidRequest("thumbor's trim/ is not supported by Darkroom; drop it.")
    rest = _take(rest, _CROP, lambda m: setattr(url, "crop", tuple(int(g) for g in m.groups())))
    segment = rest.partition("/")[0]
    if segment in _FIT_IN and "/" in rest:
        url.fit_in, url.adaptive = _FIT_IN[segment]
        rest = rest.partition("/")[2]
    rest = _take(rest, _SIZE, lambda m: _size(url, m))
    segment = rest.partition("/")[0]
    if segment in _HALIGN and "/" in rest:
        url.halign = _HALIGN[segment]
        rest = rest.partition("/")[2]
        segment = rest.partition("/")[0]
    if segment in _VALIGN and "/" in rest:
        url.valign = _VALIGN[segment]
        rest = rest.partition("/")[2]
        segment = rest.partition("/")[0]
    if segment == "smart" and "/" in rest:
        url.smart = True
        rest = rest.partition("/")[2]
    if rest.startswith("filters:"):
        url.filters, rest = parse_filters(rest[len("filters:") :])
    source = parse_source(rest, option="IMAGE")
    mark = None
    if url.filters.watermark is not None:
        mark = Mark(url.filters.watermark.source, url.filters.watermark.fields)
    return Translation(
        source=source,
        fields_for=lambda size: _fields(url, size, faces=faces),
        names=dict(url.filters.names),
        mark=mark,
    )


def _take(rest: str, pattern: re.Pattern[str], apply: object) -> str:
    segment, slash, tail = rest.partition("/")
    match = pattern.fullmatch(segment)
    if match is None or not slash:
        return rest
    assert callable(apply)
    apply(match)
    return tail


def _size(url: _Url, match: re.Match[str]) -> None:
    flop, width, flip, height = match.groups()
    url.flop, url.flip = bool(flop), bool(flip)
    url.width = width if width == "orig" else (int(width) if width else None)
    url.height = height if height == "orig" else (int(height) if height else None)


def _fields(url: _Url, size: tuple[int, int], *, faces: bool) -> Fields:
    """thumbor's geometry for a source of `size` (upright): crop, then fit or crop-and-fill."""
    filters = url.filters
    fields: Fields = dict(filters.fields)
    src_w, src_h = size
    if url.crop is not None:
        left, top, right, bottom = (
            min(url.crop[0], src_w),
            min(url.crop[1], src_h),
            min(url.crop[2], src_w),
            min(url.crop[3], src_h),
        )
        whole = (left, top, right, bottom) == (0, 0, src_w, src_h)
        if left < right and top < bottom and not whole:  # thumbor ignores an empty crop
            fields["crop"] = {
                "left": left,
                "top": top,
                "width": right - left,
                "height": bottom - top,
            }
            src_w, src_h = right - left, bottom - top
    width = src_w if url.width == "orig" else url.width or None
    height = src_h if url.height == "orig" else url.height or None
    assert width is None or isinstance(width, int)
    assert height is None or isinstance(height, int)
    if url.adaptive and width and height and (src_w > src_h) != (width > height) and src_w != src_h:
        width, height = height, width
    if url.fit_in is not None:
        _fit_in(fields, url, (src_w, src_h), width, height)
    else:
        _crop_and_fill(fields, url, (src_w, src_h), width, height, faces=faces)
    rotate = int(fields.get("rotate", 0))
    flip, flop = url.flip, url.flop
    if rotate in (90, 270):
        # thumbor sizes and mirrors before its rotate filter; a spec names the result's
        # sides and mirrors after rotating.
        fields["width"], fields["height"] = fields.get("height"), fields.get("width")
        flip, flop = flop, flip
    if flip:
        fields["flip"] = True
    if flop:
        fields["flop"] = True
    if "gravity" in fields and fields["gravity"] not in ("attention", "face"):
        fields["gravity"] = result_gravity(fields["gravity"], rotate=rotate, flip=flip, flop=flop)
    return {k: v for k, v in fields.items() if v is not None}


def _fit_in(
    fields: Fields, url: _Url, source: tuple[int, int], width: int | None, height: int | None
) -> None:
    filters = url.filters
    if url.fit_in == "full" and width and height:
        # Scaled so that the image covers the box, uncropped (and enlarged if need be).
        if source[0] * height <= source[1] * width:
            fields["width"] = width
        else:
            fields["height"] = height
        fields["enlarge"] = True
        return
    fields["width"], fields["height"] = width, height
    fields["enlarge"] = filters.upscale or url.fit_in == "full"
    if filters.fill is not None and width and height:
        fields["fit"] = "pad"


def _crop_and_fill(
    fields: Fields,
    url: _Url,
    source: tuple[int, int],
    width: int | None,
    height: int | None,
    *,
    faces: bool,
) -> None:
    filters = url.filters
    if filters.no_upscale:
        width = None if width is None else min(width, source[0])
        height = None if height is None else min(height, source[1])
    if width is None and height is None:
        return
    if width is None or height is None:
        # thumbor works out the other side (rounded half to even) and scales to both,
        # enlarging too: exactly its size, where libvips might round the other way.
        if width is None:
            assert height is not None
            width = max(1, round(height * source[0] / source[1]))
        else:
            height = max(1, round(width * source[1] / source[0]))
        fields["width"], fields["height"], fields["fit"] = width, height, "fill"
        fields["enlarge"] = True
        return
    fields["width"], fields["height"] = width, height
    fields["enlarge"] = not filters.no_upscale
    fields["fit"] = "fill" if filters.stretch else "cover"
    if filters.stretch:
        return
    if filters.focus is not None:
        left, top, right, bottom = filters.focus
        crop = fields.get("crop") or {"left": 0, "top": 0}
        x = ((left + right) / 2 - crop["left"]) / source[0]
        y = ((top + bottom) / 2 - crop["top"]) / source[1]
        fields["focus"] = {"x": min(max(x, 0.0), 1.0), "y": min(max(y, 0.0), 1.0)}
    elif url.smart:
        fields["gravity"] = "face" if faces else "attention"
    elif url.halign or url.valign:
        fields["gravity"] = _compass(url.valign, url.halign)


def _compass(vertical: str, horizontal: str) -> str:
    return (vertical + horizontal) or "centre"
