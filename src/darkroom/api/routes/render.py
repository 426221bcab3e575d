"""/v1/render: signed on-demand transformations of stored or remote images, cached.

The signature authorises a render: no API key is needed. A key that is sent anyway is
checked (401 if unknown or revoked), and its owner scope applies to stored images, so a
key never renders another owner's image (404).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from darkroom.api.auth import admit, bearer_key, client_bucket, limit, optional_key
from darkroom.api.deps import blocking
from darkroom.api.openapi import IMAGE_TYPES, Responses, binary, errors, header, not_modified
from darkroom.api.render_gate import Heavy, RenderGate
from darkroom.api.render_query import (
    MAX_REMOTE_URL,
    OPTIONS,
    REMOTE_URL,
    SIGNATURE,
    parameters,
)
from darkroom.errors import Forbidden, InvalidRequest
from darkroom.imaging import TransformSpec, parse_query
from darkroom.imaging.spec import validate_spec
from darkroom.service import profiles, render
from darkroom.service.auth import Role
from darkroom.service.context import Context
from darkroom.signing import verify

PREFIX = "/v1/render"
router = APIRouter(prefix=PREFIX, tags=["render"])

CACHE_CONTROL = "public, max-age=31536000, immutable"
OPTIONAL_KEY = optional_key(Role.READ)


# The handlers read the request directly instead of through FastAPI's parameter injection:
# on this hot path the event loop's CPU is taken from the renders. `RenderFastPath` calls
# them without FastAPI's routing; the routes here document them (their query options are
# declared through `openapi_extra`, see `api.render_query`), answer HEAD, and catch odd
# shapes.

_HEADERS = {
    "ETag": header("Entity tag of the rendition; send it back in If-None-Match."),
    "Cache-Control": header(CACHE_CONTROL),
    "Vary": header("`Accept` when fmt=auto or original chose the format."),
}
_RENDERED = {**_HEADERS, "X-Darkroom-Cache": header("`hit` or `miss`: served from the cache?")}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "ETags already held: 304 without rendering when one matches.",
}


_PROFILE_OPTIONS = frozenset({"sig", "fmt", "dpr"})
_PROFILE_QUERY = [option for option in OPTIONS if option["name"] in ("fmt", "dpr")]


def responses(*statuses: int) -> Responses:
    return {
        200: binary("The rendered image.", IMAGE_TYPES, _RENDERED),
        304: not_modified(_HEADERS),
        **errors(*statuses),
    }


@router.get(
    "",
    response_class=Response,
    responses=responses(400, 401, 403, 404, 413, 415, 422, 502, 503, 504),
    openapi_extra=parameters(REMOTE_URL, *OPTIONS, SIGNATURE, IF_NONE_MATCH) | OPTIONAL_KEY,
)
async def render_remote(request: Request) -> Response:
    """Render a remote source from an allow-listed origin: `?url=...&w=...&sig=...`."""
    ctx = _checked(request)
    await owner_scope(request, ctx)  # refuses a bad key, limits the rate: no owner here
    url = request.query_params.get("url")
    if not url:
        raise InvalidRequest("Name the remote image with the url parameter.")
    if len(url) > MAX_REMOTE_URL:
        raise InvalidRequest(f"The url parameter is longer than {MAX_REMOTE_URL} characters.")
    spec = _spec(request, ignore=("sig", "url"))
    accept = accept_of(request)
    return await respond(request, ctx, lambda: render.plan_remote(ctx, url, spec, accept))


@router.get(
    "/{image_id}",
    response_class=Response,
    responses=responses(401, 403, 404, 413, 415, 422, 503),
    openapi_extra=parameters(*OPTIONS, SIGNATURE, IF_NONE_MATCH) | OPTIONAL_KEY,
)
async def render_stored(request: Request, image_id: str) -> Response:
    """Render a stored image with the transformation in the query string."""
    ctx = _checked(request)
    owner = await owner_scope(request, ctx)
    spec = _spec(request, ignore=("sig",))
    accept = accept_of(request)
    return await respond(
        request,
        ctx,
        lambda: render.plan_stored(ctx, image_id, spec, accept, owner=owner),
        owner=owner,
    )


@router.get(
    "/{image_id}/{profile}",
    response_class=Response,
    responses=responses(400, 401, 403, 404, 413, 415, 422, 503),
    openapi_extra=parameters(*_PROFILE_QUERY, SIGNATURE, IF_NONE_MATCH) | OPTIONAL_KEY,
)
async def render_profile(request: Request, image_id: str, profile: str) -> Response:
    """Render a stored image with a named profile's spec."""
    ctx = _checked(request)
    owner = await owner_scope(request, ctx)
    extra = [k for k in request.query_params if k not in _PROFILE_OPTIONS]
    if extra:
        raise InvalidRequest(
            f"A profile render takes only fmt and dpr (got {', '.join(sorted(set(extra)))})."
        )
    # Per-request negotiation on top of the profile: fmt (auto picks from Accept) and dpr.
    override = parse_query(_query(request), ignore=("sig",)).canonical()
    accept = accept_of(request)

    def plan() -> render.Plan:
        spec = profiles.resolve(ctx, [profile])[profile]
        if override:
            spec = validate_spec(spec.model_dump(exclude_defaults=True) | override)
        return render.plan_stored(ctx, image_id, spec, accept, owner=owner)

    return await respond(request, ctx, plan, owner=owner)


async def owner_scope(request: Request, ctx: Context) -> str | None:
    """The owner scope of the key sent with the request; None (any) when none is sent.

    Renders are rate-limited per key, or per client address without one.
    """
    key = bearer_key(request.headers)
    if key is None:
        await limit(ctx, client_bucket(request))
        return None  # the signature alone authorises the render
    return (await admit(request, ctx, key)).owner_scope


def _checked(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    _check_signature(request, ctx)
    return ctx


def _query(request: Request) -> str:
    raw: bytes = request.scope["query_string"]
    return raw.decode("latin-1")


def accept_of(request: Request) -> str:
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


async def respond(
    request: Request,
    ctx: Context,
    plan_fn: Callable[[], render.Plan],
    *,
    owner: str | None = None,
) -> Response:
    gate: RenderGate = request.app.state.render_gate
    match = request.headers.get("if-none-match")
    if match is not None:
        plan = await blocking(plan_fn)
        if plan.etag in [tag.strip() for tag in match.split(",")]:
            return Response(status_code=304, headers=_headers(plan))

    def work() -> (
        tuple[render.Plan, render.Rendition] | Heavy[tuple[render.Plan, render.Rendition]]
    ):
        # One thread hop for planning and rendering: the hot path stays off the event loop
        # and does not queue twice. Heavy work moves to its own lane once planned.
        plan = plan_fn()
        if plan.heavy:
            hit = render.cached(ctx, plan)
            if hit is not None:
                return plan, hit
            return Heavy(lambda: (plan, render.produce(ctx, plan)))
        return plan, render.produce(ctx, plan)

    # Identical requests (same path, options and Accept) share one render; requests with
    # another owner scope do not, as each plan checks the image is its owner's.
    key = f"{owner!r}|{request.scope['path']}?{_query(request)}|{accept_of(request)}"
    plan, rendition = await gate.run(key, work)
    headers = _headers(plan) | {"X-Darkroom-Cache": "hit" if rendition.cached else "miss"}
    return Response(rendition.data, media_type=plan.media_type, headers=headers)


def _headers(plan: render.Plan) -> dict[str, str]:
    headers = {"ETag": plan.etag, "Cache-Control": CACHE_CONTROL}
    if plan.vary_accept:
        headers["Vary"] = "Accept"
    return headers
