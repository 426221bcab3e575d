"""/thumbor/... and /imgproxy/...: the URL grammars of thumbor and imgproxy, rendered like
`/v1/render` (same cache, single-flight, lanes, limits, ETag and headers).

The path is translated by `darkroom.compat`; the handlers only check its signature with
the configured keys, resolve what the translation names (a watermark's image, profiles
used as presets) and plan the render. As on `/v1/render`, the signature authorises the
render and a key sent anyway limits stored images to its owner's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from darkroom.api.routes.render import (
    IF_NONE_MATCH,
    OPTIONAL_KEY,
    accept_of,
    owner_scope,
    respond,
    responses,
)
from darkroom.compat import imgproxy, thumbor
from darkroom.compat.common import Translation
from darkroom.imaging import TransformSpec
from darkroom.service import profiles, render, vision
from darkroom.service.context import Context

THUMBOR = "/thumbor"
IMGPROXY = "/imgproxy"
router = APIRouter(tags=["compatibility"])

_PATH = {
    "name": "path",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
}
_THUMBOR_DOC = {
    "parameters": [
        _PATH
        | {
            "description": "HMAC|unsafe/[AxB:CxD/][fit-in/|adaptive-fit-in/|full-fit-in/]"
            "[-]Wx[-]H/[halign/][valign/][smart/][filters:.../]IMAGE, IMAGE a Darkroom image "
            "id or an allow-listed URL (docs/migrate.md)."
        },
        IF_NONE_MATCH,
    ]
} | OPTIONAL_KEY
_IMGPROXY_DOC = {
    "parameters": [
        _PATH
        | {
            "description": "signature|insecure/option:args/.../plain/SOURCE[@ext] or "
            "/BASE64(SOURCE)[.ext], SOURCE darkroom://IMAGE_ID or an allow-listed URL "
            "(docs/migrate.md)."
        },
        IF_NONE_MATCH,
    ]
} | OPTIONAL_KEY
_STATUSES = (400, 401, 403, 404, 413, 415, 422, 502, 503, 504)


@router.get(
    THUMBOR + "/{path:path}",
    response_class=Response,
    responses=responses(*_STATUSES),
    openapi_extra=_THUMBOR_DOC,
    summary="Render a thumbor URL",
)
async def render_thumbor(request: Request, path: str = "") -> Response:
    """Render a thumbor URL: thumbor's grammar, signatures (HMAC-SHA1) and filters."""
    ctx: Context = request.app.state.ctx
    settings = ctx.settings
    key = settings.thumbor_key.get_secret_value() if settings.thumbor_key else None
    rest = thumbor.check_signature(
        _raw_tail(request, THUMBOR), key=key, allow_unsafe=settings.thumbor_allow_unsafe
    )
    translation = thumbor.parse(rest, faces=vision.faces_available())
    return await _render(request, ctx, translation)


@router.get(
    IMGPROXY + "/{path:path}",
    response_class=Response,
    responses=responses(*_STATUSES),
    openapi_extra=_IMGPROXY_DOC,
    summary="Render an imgproxy URL",
)
async def render_imgproxy(request: Request, path: str = "") -> Response:
    """Render an imgproxy URL: imgproxy's grammar, signatures (HMAC-SHA256) and options."""
    ctx: Context = request.app.state.ctx
    settings = ctx.settings
    rest = imgproxy.check_signature(
        _raw_tail(request, IMGPROXY),
        key=_hex(settings.imgproxy_key),
        salt=_hex(settings.imgproxy_salt),
        allow_insecure=settings.imgproxy_allow_insecure,
    )
    translation = imgproxy.parse(rest, faces=vision.faces_available())
    return await _render(request, ctx, translation)


async def _render(request: Request, ctx: Context, translation: Translation) -> Response:
    owner = await owner_scope(request, ctx)
    accept = accept_of(request)
    source = translation.source

    def plan() -> render.Plan:
        spec_for = _spec_for(ctx, translation, owner)
        if source.image_id is not None:
            return render.plan_stored(ctx, source.image_id, spec_for, accept, owner=owner)
        assert source.url is not None
        return render.plan_remote(ctx, source.url, spec_for, accept)

    return await respond(request, ctx, plan, owner=owner)


def _spec_for(
    ctx: Context, translation: Translation, owner: str | None
) -> Callable[[tuple[int, int]], TransformSpec]:
    extra: dict[str, Any] = {}
    if translation.presets:
        extra["presets"] = profiles.resolve(ctx, list(translation.presets))
    if translation.mark is not None:
        mark = translation.mark.source
        extra["mark"] = render.source_bytes(ctx, mark.image_id, mark.url, owner=owner)
    return lambda size: translation.spec(size, **extra)


def _raw_tail(request: Request, prefix: str) -> str:
    # Signatures cover the path as sent: Starlette's `path` is percent-decoded once.
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    path = raw.decode("latin-1")
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path[len(prefix) + 1 :] if path.startswith(prefix + "/") else ""


def _hex(secret: Any) -> bytes | None:
    return None if secret is None else bytes.fromhex(secret.get_secret_value())
