"""The FastAPI application: routes and error handling over a service context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

import darkroom
from darkroom.api import openapi, render_fast_path
from darkroom.api.docs import install_docs
from darkroom.api.errors import install_error_handlers
from darkroom.api.methods import MethodsMiddleware
from darkroom.api.observe import observed
from darkroom.api.render_gate import RenderGate
from darkroom.api.routes import (
    compat,
    dead_letters,
    health,
    images,
    jobs,
    logos,
    profiles,
    render,
    uploads,
)
from darkroom.console import app as console
from darkroom.service.context import Context


class DarkroomAPI(FastAPI):
    """FastAPI, with the on-demand render routes answered ahead of its middleware."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a render request directly; anything else the FastAPI way; observe both."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        metrics = self.state.ctx.metrics
        found = render_fast_path.match(scope)
        if found is None:

            async def routed(send: Send) -> None:
                await super(DarkroomAPI, self).__call__(scope, receive, send)

            await observed(scope, send, metrics, routed)
            return
        handler, route = found
        scope["app"] = self  # what Starlette sets for `request.app`

        async def fast(send: Send) -> None:
            await render_fast_path.serve(handler, scope, receive, send)

        await observed(scope, send, metrics, fast, route)

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, completed once with what it cannot infer (see `api.openapi`)."""
        if self.openapi_schema is None:
            self.openapi_schema = openapi.finish(super().openapi())
        return self.openapi_schema


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _no_lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield


def _operation_id(route: APIRoute) -> str:
    # The handler's name (`get_image`), which OpenAPI links and generated clients use.
    return route.name


def create_app(ctx: Context, *, lifespan: Lifespan = _no_lifespan) -> FastAPI:
    """The HTTP API over `ctx`; `lifespan` starts and stops whatever runs beside it."""
    settings = ctx.settings
    gate = RenderGate(
        settings.render_concurrency,
        settings.render_queue_limit,
        settings.render_heavy_concurrency,
    )

    @asynccontextmanager
    async def lifespan_and_gate(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with lifespan(app):
                yield
        finally:
            gate.close()

    app = _build(lifespan_and_gate)
    app.state.ctx = ctx
    app.state.render_gate = gate
    app.mount(console.PREFIX, console.create_console(ctx))  # pages, not part of the API
    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, without a service behind it (for clients and tests)."""
    return _build(_no_lifespan).openapi()


def _build(lifespan: Lifespan) -> DarkroomAPI:
    app = DarkroomAPI(
        title="Darkroom",
        version=darkroom.__version__,
        description="Self-hosted image processing: uploads, profiles, variants.",
        lifespan=lifespan,
        docs_url=None,  # served from local files by install_docs
        redoc_url=None,
        generate_unique_id_function=_operation_id,
    )
    install_error_handlers(app)
    app.add_middleware(MethodsMiddleware)  # outermost: HEAD bodies are dropped after errors
    install_docs(app)
    for module in (health, images, uploads, profiles, logos, jobs, dead_letters, render, compat):
        app.include_router(module.router)
    return app
