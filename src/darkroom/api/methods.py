"""HEAD wherever GET is, OPTIONS everywhere, and a complete `Allow` header.

FastAPI routes answer only the methods they declare, so HEAD was a 405, and Starlette's
405 lists the methods of the first route whose path matched rather than of every route on
that path. `MethodsMiddleware` serves HEAD as GET without the body (same status and
headers) and answers OPTIONS; `allowed_methods` is what both it and the 405 handler list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")
"""Methods routes declare; HEAD follows GET, and OPTIONS is answered on every path."""


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """The methods the request's path answers (GET, HEAD, ... OPTIONS); empty if none."""
    found: list[str] = []
    for method in PROBED:
        # A fresh scope per probe: routers note their match in the scope they are given.
        probe = {
            "type": "http",
            "method": method,
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
        }
        if any(_answers(route, probe) for route in routes):
            found.append(method)
            if method == "GET":
                found.append("HEAD")
    return [*found, "OPTIONS"] if found else []


def _answers(route: BaseRoute, probe: Scope) -> bool:
    match, _ = route.matches(probe)
    if isinstance(route, Mount):
        # Mounts answer every method of their path prefix; ours serve static files.
        return match is not Match.NONE and probe["method"] == "GET"
    return match is Match.FULL


def allow_header(request: Request) -> str:
    """The `Allow` header value for the request's path."""
    return ", ".join(allowed_methods(request.app.router.routes, request.scope))


class MethodsMiddleware:
    """Answers OPTIONS with `Allow`; serves HEAD as GET and drops the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            # A copy: the server reads the original scope's method to send no body.
            as_get = {**scope, "method": "GET"}
            try:
                await self.app(as_get, receive, _without_body(send))
            finally:
                if "route" in as_get:  # what routing found, for the request's log event
                    scope["route"] = as_get["route"]
        elif method == "OPTIONS":
            allowed = allowed_methods(scope["app"].router.routes, scope)
            if not allowed:
                await self.app(scope, receive, send)  # the router answers 404
                return
            response = Response(status_code=204, headers={"Allow": ", ".join(allowed)})
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _without_body(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            # The server sends nothing of the body for HEAD; Content-Length stays what GET has.
            message = {**message, "body": b""}
        await send(message)

    return send_headers_only
