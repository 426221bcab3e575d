"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from darkroom.api.deps import Ctx, blocking
from darkroom.service import health as health_service
from darkroom.service.metrics import CONTENT_TYPE

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(ctx: Ctx) -> JSONResponse:
    """Whether the database, storage and broker answer: 200 if all do, else 503."""
    checks = await blocking(health_service.readiness, ctx)
    healthy = all(c.ok for c in checks.values())
    body: dict[str, Any] = {
        "status": "ready" if healthy else "unavailable",
        "checks": {
            name: {"ok": c.ok} | ({"error": c.error} if c.error else {})
            for name, c in checks.items()
        },
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics")
async def metrics(ctx: Ctx) -> Response:
    """Prometheus metrics: variants by status (the backlog) and this process's counters."""
    return Response(await blocking(health_service.metrics_text, ctx), media_type=CONTENT_TYPE)
