"""imgproxy's URL grammar: `/{signature|insecure}/{option:arg:...}/.../plain/{SOURCE}[@ext]`
or `/.../{base64url(SOURCE)}[.ext]`, translated into a spec with imgproxy's geometry.

imgproxy signs salt + the path after the signature (from its `/`, as sent) with
HMAC-SHA256, key and salt hex-encoded, the digest in URL-safe base64 without padding.
SOURCE is `darkroom://IMAGE_ID` or an http(s) URL.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from urllib.parse import unquote

from darkroom.compat.common import Source, Translation, parse_source
from darkroom.compat.imgproxy_geometry import fields_for
from darkroom.compat.imgproxy_options import Options, apply_option
from darkroom.errors import Forbidden, InvalidRequest

GRAMMAR = "imgproxy"
UNSIGNED = frozenset({"insecure", "_"})
"""Signature segments of unsigned URLs (`insecure` in imgproxy's docs, `_` by builders)."""
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")


def check_signature(
    path: str, *, key: bytes | None, salt: bytes | None, allow_insecure: bool
) -> str:
    """The part of `path` (after `/imgproxy/`, as sent) past the signature, once the
    signature checks out; Forbidden otherwise."""
    head, _, rest = path.partition("/")
    if head in UNSIGNED:
        if not allow_insecure:
            raise Forbidden(
                "Unsigned (insecure) imgproxy URLs are off: sign the URL with "
                "DARKROOM_IMGPROXY_KEY and DARKROOM_IMGPROXY_SALT, or set "
                "DARKROOM_IMGPROXY_ALLOW_INSECURE=1 (development)."
            )
        return rest
    if not rest or not _SIGNATURE.fullmatch(head):
        raise Forbidden(
            "This imgproxy URL has no signature: it must start with /imgproxy/SIGNATURE/ "
            "(URL-safe base64 of HMAC-SHA256 over salt + path) or /imgproxy/insecure/."
        )
    if key is None or salt is None:
        raise Forbidden(
            "Signed imgproxy URLs need DARKROOM_IMGPROXY_KEY and DARKROOM_IMGPROXY_SALT, "
            "the hex key and salt they were signed with."
        )
    if not hmac.compare_digest(signature(key, salt, "/" + rest), head):
        raise Forbidden("The signature of this imgproxy URL does not match its path.")
    return rest


def signature(key: bytes, salt: bytes, path: str) -> str:
    """imgproxy's signature of `path` (from the `/` after the signature segment)."""
    digest = hmac.new(key, salt + path.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def parse(path: str, *, faces: bool) -> Translation:
    """Translate the options and source of an imgproxy path (after the signature).

    `faces`: whether face detection is installed (`g:sm` keeps faces, else attention).
    """
    parts = path.split("/")
    options = Options()
    index = 0
    while index < len(parts) and ":" in parts[index] and parts[index] != "plain":
        name, *args = parts[index].split(":")
        apply_option(options, name, args)
        index += 1
    source, extension = _source(parts[index:])
    if extension:
        apply_option(options, "format", [extension])
    return Translation(
        source=source,
        fields_for=lambda size: fields_for(options, size, faces=faces),
        names=dict(options.names),
        presets=tuple(options.presets),
        geometry_set=options.geometry_set,
    )


def _source(parts: list[str]) -> tuple[Source, str]:
    if not parts or not any(parts):
        raise InvalidRequest("This imgproxy URL names no source image.")
    if parts[0] == "plain" and len(parts) > 1:
        text, _, extension = "/".join(parts[1:]).partition("@")
        return _named(unquote(text)), extension
    encoded, _, extension = "".join(parts).partition(".")
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidRequest(
            f"The imgproxy source {encoded[:40]!r} is not URL-safe base64 of a URL (or use "
            "the /plain/ form)."
        ) from None
    return _named(text), extension


def _named(text: str) -> Source:
    if text.startswith("darkroom://"):
        image_id = text[len("darkroom://") :]
        if not image_id or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", image_id):
            raise InvalidRequest(f"{text!r} names no Darkroom image id.")
        return Source(image_id=image_id)
    if not re.match(r"(?i)https?://", text):
        raise InvalidRequest(
            f"The imgproxy source {text[:60]!r} must be darkroom://IMAGE_ID or an http(s) URL."
        )
    return parse_source(text, option="source")
