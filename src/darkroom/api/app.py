"""The FastAPI application: routes and error handling over a service context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

import darkroom
from darkroom.api.errors import install_error_handlers
from darkroom.api.render_gate import RenderGate
from darkroom.api.routes import dead_letters, health, images, jobs, profiles, render
from darkroom.service.context import Context

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _no_lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def create_app(ctx: Context, *, lifespan: Lifespan = _no_lifespan) -> FastAPI:
    """The HTTP API over `ctx`; `lifespan` starts and stops whatever runs beside it."""
    app = FastAPI(
        title="Darkroom",
        version=darkroom.__version__,
        description="Self-hosted image processing: uploads, profiles, variants.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.state.render_gate = RenderGate(
        ctx.settings.render_concurrency, ctx.settings.render_queue_limit
    )
    for module in (health, images, profiles, jobs, dead_letters, render):
        app.include_router(module.router)
    return app
