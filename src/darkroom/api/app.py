"""The FastAPI application: routes and error handling over a service context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

import darkroom
from darkroom.api import render_fast_path
from darkroom.api.errors import install_error_handlers
from darkroom.api.render_gate import RenderGate
from darkroom.api.routes import dead_letters, health, images, jobs, profiles, render
from darkroom.service.context import Context


class DarkroomAPI(FastAPI):
    """FastAPI, with the on-demand render routes answered ahead of its middleware."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a render request directly; anything else the FastAPI way."""
        handler = render_fast_path.match(scope)
        if handler is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what Starlette sets for `request.app`
        await render_fast_path.serve(handler, scope, receive, send)


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

    app = DarkroomAPI(
        title="Darkroom",
        version=darkroom.__version__,
        description="Self-hosted image processing: uploads, profiles, variants.",
        lifespan=lifespan_and_gate,
    )
    app.state.ctx = ctx
    app.state.render_gate = gate
    install_error_handlers(app)
    for module in (health, images, profiles, jobs, dead_letters, render):
        app.include_router(module.router)
    return app
