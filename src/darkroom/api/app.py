"""The FastAPI application: routes and error handling over a service context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

import darkroom
from darkroom.api.errors import install_error_handlers
from darkroom.api.render_fast_path import RenderFastPath
from darkroom.api.render_gate import RenderGate
from darkroom.api.routes import dead_letters, health, images, jobs, profiles, render
from darkroom.service.context import Context

DOCUMENTED_ORDER = ("images", "profiles", "render", "jobs", "dead letters", "health")
"""Sections of the API reference in reading order (routes are matched in another order)."""

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _no_lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def create_app(ctx: Context, *, lifespan: Lifespan = _no_lifespan) -> FastAPI:
    """The HTTP API over `ctx`; `lifespan` starts and stops whatever runs beside it."""
    gate = RenderGate(ctx.settings.render_concurrency, ctx.settings.render_queue_limit)

    @asynccontextmanager
    async def lifespan_and_gate(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with lifespan(app):
                yield
        finally:
            gate.close()

    app = FastAPI(
        title="Darkroom",
        version=darkroom.__version__,
        description="Self-hosted image processing: uploads, profiles, variants.",
        lifespan=lifespan_and_gate,
        openapi_tags=[{"name": name} for name in DOCUMENTED_ORDER],
    )
    app.state.ctx = ctx
    app.state.render_gate = gate
    # Added first, so it sits inside the error handlers' catch-all middleware.
    app.add_middleware(RenderFastPath)
    install_error_handlers(app)
    # Routes are matched in order: the hot on-demand path first.
    for module in (render, images, health, profiles, jobs, dead_letters):
        app.include_router(module.router)
    return app
