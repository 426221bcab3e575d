"""One log event and one set of metrics per request, on the routed and the fast path alike.

`DarkroomAPI.__call__` wraps every HTTP request in `observed`: it gives the request an id
(the caller's `X-Request-ID` when it is a sane token, else a new one) echoed in the
answer, times it, and records method, route template, status, duration, key id and owner.
The route is the template (`/v1/images/{image_id}`), never the raw path, so metric labels
stay few; the principal is filled in by the auth dependency when a key is checked.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import Message, Scope, Send

from darkroom.service.auth import Principal
from darkroom.service.metrics import WorkMetrics

log = logging.getLogger("darkroom.api.requests")

FACTS = "darkroom.request"
"""Where a request's `RequestFacts` live in the ASGI scope."""
UNMATCHED = "unmatched"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_RENDER_OUTCOMES = {304: "not_modified", 503: "overloaded"}


@dataclass(slots=True)
class RequestFacts:
    """What is learnt about a request while it is served."""

    request_id: str
    route: str | None = None
    principal: Principal | None = None


def facts_of(scope: Scope) -> RequestFacts | None:
    """The facts of the request `scope` belongs to (None outside `observed`)."""
    found: RequestFacts | None = scope.get(FACTS)
    return found


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is a plain token of at most 128 characters, else new."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


async def observed(
    scope: Scope,
    send: Send,
    metrics: WorkMetrics,
    serve: Callable[[Send], Awaitable[None]],
    route: str | None = None,
) -> None:
    """Serve the request through `serve`, then log it and count it."""
    facts = RequestFacts(request_id_of(scope), route)
    scope[FACTS] = facts
    method = scope["method"]
    status = 500  # what the server answers if the app raises before it starts a response
    cache = ""
    header = (b"x-request-id", facts.request_id.encode("latin-1"))

    async def observing_send(message: Message) -> None:
        nonlocal status, cache
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", ()))
            for name, value in headers:
                if name == b"x-darkroom-cache":
                    cache = value.decode("latin-1")
            message = {**message, "headers": [*headers, header]}
        await send(message)

    started = time.perf_counter()
    try:
        await serve(observing_send)
    finally:
        seconds = time.perf_counter() - started
        template = facts.route or _route_template(scope)
        metrics.http_requests.labels(route=template, method=method, status=str(status)).inc()
        metrics.http_seconds.labels(route=template).observe(seconds)
        if template.startswith("/v1/render"):
            outcome = cache if status == 200 and cache else _RENDER_OUTCOMES.get(status, "error")
            metrics.renders.labels(outcome=outcome).inc()
            metrics.render_seconds.observe(seconds)
        principal = facts.principal
        log.info(
            "%s %s %d",
            method,
            template,
            status,
            extra={
                "method": method,
                "route": template,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": facts.request_id,
                "key_id": principal.key_id if principal else None,
                "owner": principal.owner_id if principal else None,
            },
        )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED
