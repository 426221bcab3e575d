"""API keys and who may do what: bearer keys with an owner and a role.

Roles are ordered, each allowing what the one before allows: `read` sees its owner's
images; `upload` also uploads, adds variants, deletes and purges its owner's images;
`admin` does everything, for every owner (profiles, dead letters, backfill, keys).
A key is shown once, at creation; only its SHA-256 is stored (keys are 256 random bits,
so a slow hash would add nothing but latency to every request).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from darkroom.db.engine import transaction
from darkroom.db.repo import api_keys as key_rows
from darkroom.db.schema import ApiKey
from darkroom.errors import Forbidden, InvalidRequest, Unauthorized
from darkroom.service.context import Context

KEY_PREFIX = "drk_"
CACHE_SECONDS = 10.0
"""How long a process trusts what it read about keys: a revocation reaches every other
process within this time (at once in the process that revoked)."""


class Role(IntEnum):
    """What a key may do; a higher role may do everything a lower one may."""

    READ = 1
    UPLOAD = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        """The role called `name`; InvalidRequest listing the roles otherwise."""
        try:
            return cls[name.upper()]
        except KeyError:
            raise InvalidRequest(f"Unknown role {name!r}: use read, upload or admin.") from None

    @property
    def label(self) -> str:
        """The role's lowercase name."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a key's id, owner and role; or the open mode's anonymous admin."""

    key_id: str | None
    owner_id: str | None
    role: Role

    def require(self, role: Role) -> None:
        """Raise Forbidden unless this principal holds `role` or a higher one."""
        if self.role < role:
            raise Forbidden(
                f"This needs a key with the {role.label} role; this key has {self.role.label}."
            )

    @property
    def owner_scope(self) -> str | None:
        """The owner whose images this principal may see; None for all (admin)."""
        return None if self.role is Role.ADMIN else self.owner_id

    def acting_owner(self, requested: str | None) -> str | None:
        """The owner an upload is recorded for: the key's own, or any an admin names."""
        if self.role is Role.ADMIN:
            return requested if requested is not None else self.owner_id
        if requested is not None and requested != self.owner_id:
            raise Forbidden("Only an admin key may upload for another owner.")
        return self.owner_id


OPEN = Principal(key_id=None, owner_id=None, role=Role.ADMIN)
"""Who every request is while no key exists (loopback-only deployments)."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key as listings show it: never the key itself."""

    id: str
    prefix: str
    owner_id: str
    role: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> KeyRecord:
        """The record of a key row."""
        return cls(
            row.id, row.prefix, row.owner_id, row.role, row.name, row.created_at, row.revoked_at
        )


class _Cache:
    """Recently seen keys and whether any key exists, per process, for CACHE_SECONDS."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[Principal | None, float]] = {}
        self._protected: tuple[bool, float] | None = None

    def get(self, key_hash: str) -> tuple[bool, Principal | None]:
        with self._lock:
            found = self._keys.get(key_hash)
        if found is None or found[1] < time.monotonic():
            return False, None
        return True, found[0]

    def put(self, key_hash: str, principal: Principal | None) -> None:
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[key_hash] = (principal, time.monotonic() + CACHE_SECONDS)

    def protected(self) -> bool | None:
        with self._lock:
            if self._protected is None or self._protected[1] < time.monotonic():
                return None
            return self._protected[0]

    def set_protected(self, value: bool) -> None:
        with self._lock:
            self._protected = (value, time.monotonic() + CACHE_SECONDS)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._protected = None


_caches: dict[str, _Cache] = {}
_caches_lock = threading.Lock()


def _cache(ctx: Context) -> _Cache:
    """This process's cache for the context's database (tests run several in one process)."""
    with _caches_lock:
        return _caches.setdefault(ctx.settings.database_url, _Cache())


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    ctx: Context, *, owner_id: str, role: str, name: str | None = None
) -> tuple[str, KeyRecord]:
    """A new key (returned once, in clear) for `owner_id` with `role`, and its record."""
    if not owner_id or len(owner_id) > 255:
        raise InvalidRequest("A key needs an owner: 1 to 255 characters.")
    parsed = Role.parse(role)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction(ctx.sessions) as session:
        row = key_rows.add_key(
            session,
            key_hash=hash_key(key),
            prefix=key[: len(KEY_PREFIX) + 6],
            owner_id=owner_id,
            role=parsed.label,
            name=name,
        )
        record = KeyRecord.of(row)
    _cache(ctx).clear()
    return key, record


def list_keys(ctx: Context, *, include_revoked: bool = False) -> list[KeyRecord]:
    """Every key, oldest first."""
    with transaction(ctx.sessions) as session:
        rows = key_rows.list_keys(session, include_revoked=include_revoked)
        return [KeyRecord.of(row) for row in rows]


def revoke_key(ctx: Context, key_id: str) -> KeyRecord:
    """Revoke a key: it stops working at once here, within CACHE_SECONDS elsewhere."""
    with transaction(ctx.sessions) as session:
        record = KeyRecord.of(key_rows.revoke_key(session, key_id))
    _cache(ctx).clear()
    return record


def protected(ctx: Context) -> bool:
    """Whether any key exists, and so every protected route needs one."""
    cached = _cache(ctx).protected()
    if cached is not None:
        return cached
    with transaction(ctx.sessions) as session:
        found = key_rows.any_active_key(session)
    _cache(ctx).set_protected(found)
    return found


def authenticate(ctx: Context, key: str | None) -> Principal:
    """Who `key` (a bearer key, or None when none was sent) acts as; Unauthorized if nobody."""
    if key is None:
        return _open_or_refused(protected(ctx))
    key_hash = hash_key(key)
    seen, principal = _cache(ctx).get(key_hash)
    if not seen:
        with transaction(ctx.sessions) as session:
            row = key_rows.find_active_key(session, key_hash)
            principal = (
                None if row is None else Principal(row.id, row.owner_id, Role.parse(row.role))
            )
        _cache(ctx).put(key_hash, principal)
    return _known_or_refused(principal)


def authenticate_cached(ctx: Context, key: str | None) -> Principal | None:
    """`authenticate`'s answer from this process's cache alone; None when it would need the
    database (so the caller can stay off a thread for the usual request)."""
    if key is None:
        cached = _cache(ctx).protected()
        return None if cached is None else _open_or_refused(cached)
    seen, principal = _cache(ctx).get(hash_key(key))
    return _known_or_refused(principal) if seen else None


def _open_or_refused(keys_exist: bool) -> Principal:
    if not keys_exist:
        return OPEN
    raise Unauthorized("This needs an API key: send Authorization: Bearer KEY.")


def _known_or_refused(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized("The API key is unknown or revoked.")
    return principal
