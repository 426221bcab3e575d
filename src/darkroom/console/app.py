"""The console as an application of its own, mounted by the API at /console.

Its own application so that its errors answer as pages (or redirect to the sign-in page)
rather than as the API's JSON, and so that its security headers cover only its pages.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom.console.pages import page, redirect
from darkroom.console.routes import dead_letters, image, images, keys, profiles, signin
from darkroom.console.session import Sessions
from darkroom.errors import DarkroomError, InvalidRequest, Unauthorized, error_body
from darkroom.service.context import Context

PREFIX = "/console"
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


def create_console(ctx: Context) -> ASGIApp:
    """The console over `ctx`, to be mounted at PREFIX."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    secret = ctx.settings.console_secret
    app.state.ctx = ctx
    app.state.sessions = Sessions(
        secret.get_secret_value().encode("utf-8") if secret else secrets.token_bytes(32)
    )
    app.add_exception_handler(DarkroomError, _darkroom_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    static = Path(__file__).with_name("static")
    app.mount("/static", StaticFiles(directory=static), name="static")
    for module in (signin, images, image, profiles, dead_letters, keys):
        app.include_router(module.router)
    return _SecurityHeaders(app)


class _SecurityHeaders:
    """Adds the console's security headers (a strict CSP: no inline script or style)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def wants_json(request: Request) -> bool:
    """Whether the console's script asked (it sends `Accept: application/json`)."""
    return request.headers.get("accept", "").startswith("application/json")


async def _darkroom_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DarkroomError)
    to_sign_in = request.method in ("GET", "HEAD") and not wants_json(request)
    if isinstance(exc, Unauthorized) and to_sign_in:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, "/sign-in", next=target)
    if wants_json(request):
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)
    return page(request, "error.html", None, status_code=exc.status_code, error=exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc'][1:])}: {error['msg']}" for error in exc.errors()
    )
    error = InvalidRequest(f"Some fields are not valid: {problems}.")
    if wants_json(request):
        return JSONResponse(error_body(error.code, error.message), status_code=422)
    return page(request, "error.html", None, status_code=422, error=error)
