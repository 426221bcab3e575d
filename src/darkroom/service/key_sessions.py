"""Who a console session acts as: the key it signed in with, read again on every request.

A session carries the key's id, not the key, so each request looks the key up by id: a
revoked key ends its sessions at once, and a changed role applies at the next page.
"""

from __future__ import annotations

from darkroom.db.engine import transaction
from darkroom.db.repo import api_keys as key_rows
from darkroom.errors import Unauthorized
from darkroom.service import auth
from darkroom.service.auth import Principal, Role
from darkroom.service.context import Context


def sign_in(ctx: Context, key: str) -> Principal:
    """The principal of an API key typed into the sign-in form; Unauthorized if none."""
    key = key.strip()
    if not key:
        raise Unauthorized("Enter an API key (it starts with drk_).")
    return auth.authenticate(ctx, key)


def resume(ctx: Context, key_id: str | None) -> Principal:
    """The principal of a session's key (None: the open mode's, while no key exists)."""
    if key_id is None:
        return auth.authenticate(ctx, None)
    with transaction(ctx.sessions) as session:
        row = key_rows.find_key(session, key_id)
        if row is None or row.revoked_at is not None:
            raise Unauthorized("The key this session signed in with is revoked; sign in again.")
        return Principal(row.id, row.owner_id, Role.parse(row.role))


def is_open(ctx: Context) -> bool:
    """Whether no key exists, so that the console (like the API) needs no sign-in."""
    return not auth.protected(ctx)
