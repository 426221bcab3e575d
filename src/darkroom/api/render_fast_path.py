"""The on-demand render routes, served without FastAPI's routing and parameter machinery.

On 2 cores under load, FastAPI's route matching, dependency solving and inner middleware
cost about 0.3 ms of event-loop CPU per render request: several per cent of a small
render, taken from libvips. This middleware hands GET requests on the render paths
straight to the handler functions the FastAPI routes declare, which still document them
in OpenAPI and serve whatever this does not recognise, and answers Darkroom errors
exactly as the app's error handlers do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from darkroom.api.errors import darkroom_error_response
from darkroom.api.routes import render
from darkroom.errors import DarkroomError

Handler = Callable[[Request], Awaitable[Response]]


class RenderFastPath:
    """Serve `GET /v1/render...` directly; pass everything else to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = match(scope)
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except DarkroomError as exc:
            response = await darkroom_error_response(request, exc)
        await response(scope, receive, send)


def match(scope: Scope) -> Handler | None:
    """The render handler for this request, or None to leave it to the app's routing."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if path == render.PREFIX:
        return render.render_remote
    if not path.startswith(render.PREFIX + "/"):
        return None
    parts = path[len(render.PREFIX) + 1 :].split("/")
    if not all(parts):
        return None  # empty segments: the app's routing answers (404)
    if len(parts) == 1:
        return partial(render.render_stored, image_id=parts[0])
    if len(parts) == 2:
        return partial(render.render_profile, image_id=parts[0], profile=parts[1])
    return None
