"""Liveness, readiness and metrics: open to load balancers and scrapers.

Metrics need an admin key only when DARKROOM_METRICS_REQUIRE_KEY is set; the route reads
the key itself, as the requirement depends on the settings rather than on the route.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from darkroom.api.auth import authenticate, bearer_key, optional_key
from darkroom.api.deps import Ctx, blocking
from darkroom.api.openapi import errors
from darkroom.api.schemas import ready_out
from darkroom.contract import HealthOut, ReadyOut
from darkroom.service import health as health_service
from darkroom.service.auth import Role
from darkroom.service.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> HealthOut:
    """The process is up and answering."""
    return HealthOut()


@router.get(
    "/ready",
    response_model_exclude_none=True,  # a check's `error` only when it failed
    responses={503: {"model": ReadyOut, "description": "A dependency does not answer."}},
)
async def ready(ctx: Ctx, response: Response) -> ReadyOut:
    """Whether the database, storage and broker answer: 200 if all do, else 503."""
    answer = ready_out(await blocking(health_service.readiness, ctx))
    response.status_code = 200 if answer.healthy else 503
    return answer


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        },
        **errors(401, 403, 503),
    },
    openapi_extra=optional_key(Role.ADMIN),
)
async def metrics(ctx: Ctx, request: Request) -> Response:
    """Prometheus metrics: variants by status (the backlog) and this process's counters.

    Open, unless DARKROOM_METRICS_REQUIRE_KEY asks for an admin key.
    """
    if ctx.settings.metrics_require_key:
        who = await authenticate(ctx, bearer_key(request.headers))
        who.require(Role.ADMIN)
    return Response(await blocking(health_service.metrics_text, ctx), media_type=CONTENT_TYPE)
