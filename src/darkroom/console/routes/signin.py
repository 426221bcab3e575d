"""Signing in with an API key, and out; the console's front door.

The sign-in form has no session yet, so its CSRF token is bound to a short-lived cookie
of its own (a double submit): another site can neither read that cookie nor, with
SameSite=Strict, send it along with a forged form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from darkroom.console.access import CSRF_FIELD, Poster, blocking, context_of, sessions_of
from darkroom.console.pages import page, redirect, root
from darkroom.console.session import COOKIE, LIFETIME_SECONDS, new_nonce
from darkroom.errors import Unauthorized
from darkroom.service import key_sessions

router = APIRouter()

SIGN_IN_COOKIE = "darkroom_console_signin"
_SIGN_IN_SECONDS = 3600


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    """The console's front page is the images grid."""
    return redirect(request, "/images")


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "") -> Response:
    """The sign-in form; in the open mode (no key exists) a session at once."""
    ctx = context_of(request)
    if await blocking(key_sessions.is_open, ctx):
        return _signed_in(request, None, next)
    nonce = new_nonce()
    response = page(
        request,
        "signin.html",
        None,
        csrf=sessions_of(request).csrf_token(nonce),
        next=_safe_next(request, next),
        error=None,
    )
    _cookie(request, response, SIGN_IN_COOKIE, nonce, _SIGN_IN_SECONDS)
    return response


@router.post("/sign-in")
async def sign_in(
    request: Request,
    key: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the key; a session for it, or the form again with why it was refused."""
    sessions = sessions_of(request)
    nonce = request.cookies.get(SIGN_IN_COOKIE, "")
    if not nonce or not sessions.csrf_ok(nonce, csrf):
        message = "The sign-in form expired or did not come from the console: try again."
        return _refused(request, next, message, 403)
    try:
        principal = await blocking(key_sessions.sign_in, context_of(request), key)
    except Unauthorized as exc:
        return _refused(request, next, exc.message, 401)
    response = _signed_in(request, principal.key_id, next)
    response.delete_cookie(SIGN_IN_COOKIE, path=root(request) or "/")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, visit: Poster) -> Response:
    """End the session (the key itself stays valid)."""
    response = redirect(request, "/sign-in")
    response.delete_cookie(COOKIE, path=root(request) or "/")
    return response


def _refused(request: Request, next: str, message: str, status: int) -> Response:
    nonce = new_nonce()
    response = page(
        request,
        "signin.html",
        None,
        status_code=status,
        csrf=sessions_of(request).csrf_token(nonce),
        next=_safe_next(request, next),
        error=message,
    )
    _cookie(request, response, SIGN_IN_COOKIE, nonce, _SIGN_IN_SECONDS)
    return response


def _signed_in(request: Request, key_id: str | None, next: str) -> Response:
    _, value = sessions_of(request).open(key_id)
    response = RedirectResponse(_safe_next(request, next), status_code=303)
    _cookie(request, response, COOKIE, value, LIFETIME_SECONDS)
    return response


def _safe_next(request: Request, next: str) -> str:
    """`next` when it is a console path; the images page otherwise (no open redirect)."""
    base = root(request)
    if next.startswith(f"{base}/") and not next.startswith("//") and "\\" not in next:
        return next
    return f"{base}/images"


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=root(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
