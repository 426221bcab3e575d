"""Who is looking at a console page: the session's principal, and the CSRF check of a POST.

Pages declare what they need with one annotated parameter: `Viewer` for any signed-in
session, `Poster` for a form or script POST (also checks the CSRF token, from the `csrf`
form field or the `X-CSRF-Token` header).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from darkroom.console.session import COOKIE, Session, Sessions
from darkroom.errors import Forbidden, Unauthorized
from darkroom.service import key_sessions
from darkroom.service.auth import Principal, Role
from darkroom.service.context import Context

P = ParamSpec("P")
T = TypeVar("T")

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True, slots=True)
class Visit:
    """A signed-in request: its principal, its session and the session's CSRF token."""

    principal: Principal
    session: Session
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Whether the key may do everything (profiles, dead letters, keys, any owner)."""
        return self.principal.role is Role.ADMIN

    @property
    def can_upload(self) -> bool:
        """Whether the key may upload, delete and retry its owner's work."""
        return self.principal.role >= Role.UPLOAD


def context_of(request: Request) -> Context:
    """The service context the console was built with."""
    ctx: Context = request.app.state.ctx
    return ctx


def sessions_of(request: Request) -> Sessions:
    """The console's session signer."""
    sessions: Sessions = request.app.state.sessions
    return sessions


async def blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking use-case (database, storage, libvips) in the thread pool."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def visit(request: Request) -> Visit:
    """The request's session and principal; Unauthorized (to the sign-in page) without one."""
    sessions = sessions_of(request)
    session = sessions.read(request.cookies.get(COOKIE))
    if session is None:
        raise Unauthorized("Sign in to use the console.")
    found = await blocking(key_sessions.resume, context_of(request), session.key_id)
    return Visit(found, session, sessions.csrf_token(session.nonce))


async def posted(request: Request, found: Annotated[Visit, Depends(visit)]) -> Visit:
    """A POST's visit, once its CSRF token is checked."""
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()  # Starlette keeps it: the page reads the same form
        field = form.get(CSRF_FIELD)
        token = field if isinstance(field, str) else None
    if not sessions_of(request).csrf_ok(found.session.nonce, token):
        raise Forbidden("This form has expired or did not come from the console: reload the page.")
    return found


Viewer = Annotated[Visit, Depends(visit)]
Poster = Annotated[Visit, Depends(posted)]
