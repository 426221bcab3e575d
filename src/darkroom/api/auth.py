"""Who is asking: the request's bearer key as a `Principal`, and the role each route needs.

Routes declare what they need with one annotated parameter (`Reader`, `Uploader`, `Admin`),
as they declare the context with `Ctx`; the dependency also puts the HTTP bearer scheme on
the operation in OpenAPI, with the least role it needs (OpenAPI 3.1 lets the requirement
of a non-OAuth scheme list role names). Which owner's images a principal may touch is
decided by the use-cases, from `Principal.owner_scope`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from darkroom.api.deps import Ctx, blocking
from darkroom.api.observe import facts_of
from darkroom.errors import Forbidden
from darkroom.service import auth, ratelimit
from darkroom.service.auth import Principal, Role
from darkroom.service.context import Context

SCHEME = "bearer"
"""The name of the security scheme in OpenAPI."""

bearer = HTTPBearer(
    scheme_name=SCHEME,
    bearerFormat="drk_…",
    description="An API key from `darkroom keys create`: `Authorization: Bearer KEY`. "
    "Each operation lists the least role it needs (read < upload < admin); a key sees only "
    "its owner's images, an admin key every owner's. While no key exists the API is open "
    "(loopback-only deployments).",
    auto_error=False,  # no key is the open mode's anonymous admin, or a 401 of ours
)


def optional_key(role: Role) -> dict[str, Any]:
    """`openapi_extra` of a route that needs no key, but checks one (for `role`) if sent."""
    return {"security": [{}, {SCHEME: [role.label]}]}


def bearer_key(headers: Mapping[str, str]) -> str | None:
    """The key of an `Authorization: Bearer KEY` header; None without one (as `bearer` does)."""
    scheme, key = get_authorization_scheme_param(headers.get("authorization"))
    if not key or scheme.lower() != "bearer":
        return None
    return key


async def authenticate(ctx: Context, key: str | None) -> Principal:
    """Who `key` acts as (see `service.auth.authenticate`): from the cache on the event
    loop, else looked up off it."""
    found = auth.authenticate_cached(ctx, key)
    return found if found is not None else await blocking(auth.authenticate, ctx, key)


async def principal(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """The principal of the request's key; 401 for a missing (once keys exist) or bad one.

    Its requests are rate-limited per key (per client address in the open mode), and the
    request's log event names it.
    """
    return await admit(request, ctx, credentials.credentials if credentials else None)


async def admit(request: Request, ctx: Context, key: str | None) -> Principal:
    """Authenticate `key`, name its principal in the request's log event, and rate-limit it."""
    found = await authenticate(ctx, key)
    facts = facts_of(request.scope)
    if facts is not None:
        facts.principal = found
    await limit(ctx, f"key:{found.key_id}" if found.key_id else client_bucket(request))
    return found


def client_bucket(request: Request) -> str:
    """The rate-limit bucket of a request without a key: its client address."""
    client = request.client
    return f"addr:{client.host if client else 'unknown'}"


async def limit(ctx: Context, bucket: str) -> None:
    """Take a token from `bucket`, or raise RateLimited (429) with Retry-After."""
    buckets = ctx.rate_limits
    if buckets is None:
        return
    if isinstance(buckets, ratelimit.LocalBuckets):
        ratelimit.check(buckets, bucket)  # memory only: no reason to leave the loop
    else:
        await blocking(ratelimit.check, buckets, bucket)


def requires(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency giving the request's principal, or 403 unless it holds `role`."""

    async def dependency(found: Annotated[Principal, Depends(principal)]) -> Principal:
        found.require(role)
        return found

    dependency.__name__ = f"requires_{role.label}"
    return dependency


def _needs(role: Role) -> Any:
    # `scopes` names the role in the operation's security requirement in OpenAPI.
    return Security(requires(role), scopes=[role.label])


Reader = Annotated[Principal, _needs(Role.READ)]
"""Any valid key: reads its owner's images, jobs and the profiles."""
Uploader = Annotated[Principal, _needs(Role.UPLOAD)]
"""An upload or admin key: also uploads, adds variants, deletes and purges."""
Admin = Annotated[Principal, _needs(Role.ADMIN)]
"""An admin key: profiles, dead letters, and every owner's images."""


def listed_owner(who: Principal, requested: str | None) -> str | None:
    """The owner a listing is filtered by: any (or none) for an admin, else the key's own.

    A non-admin naming another owner is refused, as for uploads, rather than silently
    answered with its own images under another owner's name.
    """
    if who.role is Role.ADMIN:
        return requested
    if requested is not None and requested != who.owner_id:
        raise Forbidden(
            "A key lists only its own owner's images; only an admin key may name another owner."
        )
    return who.owner_id
