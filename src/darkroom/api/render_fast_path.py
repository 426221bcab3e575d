"""The on-demand render routes, answered before FastAPI's middleware and routing.

On 2 cores under load, FastAPI's middleware layers, route matching and dependency
solving cost about 0.3 ms of event-loop CPU per render request: several per cent of a
small render, taken from libvips. `DarkroomAPI` hands GET requests on the render paths
straight to the handler functions the FastAPI routes declare (the routes still document
them in OpenAPI and serve whatever `match` does not recognise), and answers errors
exactly as the app's error handlers do.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from darkroom.api.errors import darkroom_error_response, internal_error_response
from darkroom.api.routes import compat, render
from darkroom.errors import DarkroomError

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]


def match(scope: Scope) -> tuple[Handler, str] | None:
    """The render handler for this request and its route template, or None to leave it to
    the app's routing."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if path == render.PREFIX:
        return render.render_remote, render.PREFIX
    if path.startswith(compat.THUMBOR + "/"):
        return compat.render_thumbor, f"{compat.THUMBOR}/{{path}}"
    if path.startswith(compat.IMGPROXY + "/"):
        return compat.render_imgproxy, f"{compat.IMGPROXY}/{{path}}"
    if not path.startswith(render.PREFIX + "/"):
        return None
    parts = path[len(render.PREFIX) + 1 :].split("/")
    if not all(parts):
        return None  # empty segments: the app's routing answers (404)
    if len(parts) == 1:
        return partial(render.render_stored, image_id=parts[0]), f"{render.PREFIX}/{{image_id}}"
    if len(parts) == 2:
        handler = partial(render.render_profile, image_id=parts[0], profile=parts[1])
        return handler, f"{render.PREFIX}/{{image_id}}/{{profile}}"
    return None


async def serve(handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `handler` and send its response, or the error response its exception calls for."""
    request = Request(scope, receive)
    try:
        response = await handler(request)
    except DarkroomError as exc:
        response = await darkroom_error_response(request, exc)
    except Exception:
        log.exception("GET %s raised an unexpected error", scope["path"])
        response = internal_error_response()
    await response(scope, receive, send)
