"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from darkroom.api.deps import Ctx, blocking
from darkroom.db.engine import db_errors
from darkroom.errors import DarkroomError
from darkroom.metrics import CONTENT_TYPE, render
from darkroom.service.context import Context

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(ctx: Ctx) -> JSONResponse:
    """Whether the database, storage and broker answer: 200 if all do, else 503."""
    checks = await blocking(_checks, ctx)
    healthy = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if healthy else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _checks(ctx: Context) -> dict[str, dict[str, Any]]:
    return {
        "database": _probe(lambda: _database(ctx)),
        "storage": _probe(lambda: ctx.originals.exists("health/probe")),
        "broker": _probe(lambda: ctx.tasks().ping()),
    }


def _database(ctx: Context) -> None:
    with db_errors(), ctx.engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def _probe(check: Any) -> dict[str, Any]:
    try:
        check()
    except DarkroomError as exc:
        return {"ok": False, "error": exc.message}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True}


@router.get("/metrics")
async def metrics(ctx: Ctx) -> Response:
    """Prometheus metrics: variants by status (the backlog) and this process's counters."""
    return Response(await blocking(render, ctx.registry), media_type=CONTENT_TYPE)
