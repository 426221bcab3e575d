"""/v1/render: signed on-demand transformations of stored or remote images, cached."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from darkroom.api.deps import blocking
from darkroom.api.render_gate import RenderGate
from darkroom.errors import Forbidden, InvalidRequest
from darkroom.imaging import TransformSpec, parse_query
from darkroom.service import profiles, render
from darkroom.service.context import Context
from darkroom.signing import verify

PREFIX = "/v1/render"
router = APIRouter(prefix=PREFIX, tags=["render"])

CACHE_CONTROL = "public, max-age=31536000, immutable"


# The handlers read the request directly instead of through FastAPI's parameter injection:
# on this hot path the event loop's CPU is taken from the renders. `RenderFastPath` calls
# them without FastAPI's routing; the routes here document them and catch odd shapes.


@router.get("")
async def render_remote(request: Request) -> Response:
    """Render a remote source from an allow-listed origin: `?url=...&w=...&sig=...`."""
    ctx = _checked(request)
    url = request.query_params.get("url")
    if not url:
        raise InvalidRequest("Name the remote image with the url parameter.")
    spec = _spec(request, ignore=("sig", "url"))
    accept = _accept(request)
    return await _respond(request, ctx, lambda: render.plan_remote(ctx, url, spec, accept))


@router.get("/{image_id}")
async def render_stored(request: Request, image_id: str) -> Response:
    """Render a stored image with the transformation in the query string."""
    ctx = _checked(request)
    spec = _spec(request, ignore=("sig",))
    accept = _accept(request)
    return await _respond(request, ctx, lambda: render.plan_stored(ctx, image_id, spec, accept))


@router.get("/{image_id}/{profile}")
async def render_profile(request: Request, image_id: str, profile: str) -> Response:
    """Render a stored image with a named profile's spec."""
    ctx = _checked(request)
    extra = [k for k in request.query_params if k != "sig"]
    if extra:
        raise InvalidRequest(f"A profile render takes no options (got {', '.join(extra)}).")
    accept = _accept(request)

    def plan() -> render.Plan:
        spec = profiles.resolve(ctx, [profile])[profile]
        return render.plan_stored(ctx, image_id, spec, accept)

    return await _respond(request, ctx, plan)


def _checked(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    _check_signature(request, ctx)
    return ctx


def _query(request: Request) -> str:
    raw: bytes = request.scope["query_string"]
    return raw.decode("latin-1")


def _accept(request: Request) -> str:
    return request.headers.get("accept", "")


def _spec(request: Request, ignore: tuple[str, ...]) -> TransformSpec:
    return parse_query(_query(request), ignore=ignore)


def _check_signature(request: Request, ctx: Context) -> None:
    settings = ctx.settings
    if settings.allow_unsigned:
        return
    if not settings.signing_keys:
        raise Forbidden(
            "Render URLs must be signed, and no signing key is configured: set "
            "DARKROOM_SIGNING_KEYS (or DARKROOM_ALLOW_UNSIGNED=1 for development)."
        )
    keys = [key.get_secret_value() for key in settings.signing_keys]
    # The path as sent: Starlette's `url.path` is already percent-decoded once.
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    verify(raw_path.decode("latin-1"), _query(request), keys)


async def _respond(request: Request, ctx: Context, plan_fn: Callable[[], render.Plan]) -> Response:
    gate: RenderGate = request.app.state.render_gate
    match = request.headers.get("if-none-match")
    if match is not None:
        plan = await blocking(plan_fn)
        if plan.etag in [tag.strip() for tag in match.split(",")]:
            return Response(status_code=304, headers=_headers(plan))

    def work() -> tuple[render.Plan, render.Rendition]:
        # One thread hop for planning and rendering: the hot path stays off the event loop
        # and does not queue twice.
        plan = plan_fn()
        return plan, render.produce(ctx, plan)

    # Identical requests (same path, options and Accept) share one render.
    key = f"{request.scope['path']}?{_query(request)}|{_accept(request)}"
    plan, rendition = await gate.run(key, work)
    headers = _headers(plan) | {"X-Darkroom-Cache": "hit" if rendition.cached else "miss"}
    return Response(rendition.data, media_type=plan.media_type, headers=headers)


def _headers(plan: render.Plan) -> dict[str, str]:
    headers = {"ETag": plan.etag, "Cache-Control": CACHE_CONTROL}
    if plan.vary_accept:
        headers["Vary"] = "Accept"
    return headers
