"""The one place where errors become HTTP responses, all in the shape `{"error": {...}}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from darkroom.api.methods import allow_header
from darkroom.errors import DarkroomError, Unauthorized, error_body, field_problems

log = logging.getLogger(__name__)

CHALLENGE = 'Bearer realm="darkroom"'
"""The `WWW-Authenticate` challenge of a 401: an API key as a bearer token."""

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(exc: DarkroomError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON answer of an error, with the status its class declares."""
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


async def darkroom_error_response(request: Request, exc: Exception) -> JSONResponse:
    """The response for a Darkroom error: its status, code and message, and its headers."""
    assert isinstance(exc, DarkroomError)
    headers: dict[str, str] | None = None
    if exc.retry_after is not None:
        headers = {"Retry-After": str(exc.retry_after)}  # 503 overloaded, 429 rate limited
    elif isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": CHALLENGE}  # RFC 9110: every 401 names its scheme
    if exc.status_code >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
    return error_response(exc, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append((location or None, str(error.get("msg", ""))))
    summary, details = field_problems(problems)
    body = error_body("invalid_request", f"The request is invalid: {summary}", details)
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    message = str(exc.detail)
    if exc.status_code == 405:
        # Starlette lists the methods of one route; the path may have several.
        headers["Allow"] = allow = allow_header(request)
        message = f"{message}: this path answers {allow}."
    body = error_body(_HTTP_CODES.get(exc.status_code, "http_error"), message)
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


class CatchUnexpected:
    """Answers 500 in the usual error shape for an exception no handler took.

    A handler registered for Exception would answer, then re-raise into the server, which
    drops the keep-alive connection; catching here answers and carries on. Plain ASGI
    rather than `BaseHTTPMiddleware`, whose task group and body stream per request cost
    more event-loop CPU than the rest of a render request together.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("%s %s raised an unexpected error", scope["method"], scope["path"])
            if started:
                raise  # too late for an error response; the server closes the connection
            await internal_error_response()(scope, receive, send)


def internal_error_response() -> JSONResponse:
    """The 500 answer to an unexpected exception (logged by the caller)."""
    return error_response(DarkroomError("An internal error occurred; it has been logged."))


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the handlers above."""
    app.add_exception_handler(DarkroomError, darkroom_error_response)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(CatchUnexpected)
