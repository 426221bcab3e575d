"""Profiles: named, validated transformation specs stored in the database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.db.repo import profiles as profile_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import Profile
from darkroom.errors import Conflict, InvalidRequest, NotFound, UnknownProfile
from darkroom.imaging import TransformSpec
from darkroom.service import vision
from darkroom.service.context import Context
from darkroom.storage import is_profile_name

DEFAULT_PROFILES: dict[str, dict[str, Any]] = {
    "thumb_200": {"width": 200, "height": 200, "fit": "cover", "format": "jpeg"},
    "webp_800": {"width": 800, "fit": "contain", "format": "webp"},
    "avatar": {"width": 128, "height": 128, "fit": "cover", "gravity": "attention"},
}


@dataclass(frozen=True)
class ProfileView:
    """A profile as the API and CLI show it."""

    name: str
    spec: dict[str, Any]
    spec_hash: str
    version: int
    created_at: datetime
    updated_at: datetime


def view(profile: Profile) -> ProfileView:
    """The public form of a stored profile."""
    return ProfileView(
        name=profile.name,
        spec=dict(profile.spec),
        spec_hash=TransformSpec.coerce(profile.spec).spec_hash,
        version=profile.version,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def check_name(name: str) -> str:
    """A valid profile name, or InvalidRequest saying what names look like."""
    if not is_profile_name(name):
        raise InvalidRequest(
            f"Invalid profile name {name!r}: use 1-64 lowercase letters, digits, '_' or '-', "
            "starting with a letter."
        )
    return name


def list_profiles(ctx: Context) -> list[ProfileView]:
    """Every profile, by name."""
    with transaction(ctx.sessions) as session:
        return [view(p) for p in profile_rows.list_profiles(session)]


def get_profile(ctx: Context, name: str) -> ProfileView:
    """One profile; NotFound if there is none."""
    with transaction(ctx.sessions) as session:
        return view(profile_rows.get_profile(session, name))


def put_profile(ctx: Context, name: str, spec: Mapping[str, Any]) -> ProfileView:
    """Create or replace a profile; its version goes up only when the spec's meaning changes."""
    valid = TransformSpec.coerce(dict(spec))
    vision.check(ctx, valid)  # a profile its models cannot run is refused, not failed later
    with transaction(ctx.sessions) as session:
        return view(profile_rows.put_profile(session, check_name(name), valid.canonical()))


def delete_profile(ctx: Context, name: str) -> None:
    """Delete a profile; variants already made with it keep their spec."""
    with transaction(ctx.sessions) as session:
        profile_rows.delete_profile(session, name)


def ensure_defaults(ctx: Context) -> list[str]:
    """Create the default profiles when no profile exists at all (a fresh installation)."""
    try:
        with transaction(ctx.sessions) as session:
            if profile_rows.list_profiles(session):
                return []
            for name, spec in DEFAULT_PROFILES.items():
                profile_rows.put_profile(session, name, TransformSpec.coerce(spec).canonical())
    except Conflict:
        return []  # another process starting at the same time created them
    return list(DEFAULT_PROFILES)


def resolve(ctx: Context, names: Iterable[str] | None) -> dict[str, TransformSpec]:
    """The specs of the named profiles (all profiles when `names` is None).

    UnknownProfile lists every name that does not exist.
    """
    with transaction(ctx.sessions) as session:
        stored = {p.name: p for p in profile_rows.list_profiles(session)}
    wanted = list(stored) if names is None else list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in stored]
    if missing:
        known = ", ".join(sorted(stored)) or "none"
        raise UnknownProfile(
            f"Unknown profile(s): {', '.join(missing)}. Known profiles: {known}.",
            details={"unknown": missing, "known": sorted(stored)},
        )
    return {n: TransformSpec.coerce(stored[n].spec) for n in wanted}


def backfill(ctx: Context, name: str) -> int:
    """Bring every image up to the profile's current spec: add it where it is missing, render
    it again where an older spec made it; how many images were queued.

    A re-rendered variant keeps serving its old output until the new one is recorded; then
    the old object is deleted and its URL purged from the CDN (service.variants).
    """
    spec = resolve(ctx, [name])[name]
    return _add_missing(ctx, name, spec) + _renew_stale(ctx, name, spec)


def _add_missing(ctx: Context, name: str, spec: TransformSpec) -> int:
    wanted = [image_rows.NewVariant(name, spec.canonical(), spec.spec_hash)]
    queued, after = 0, None
    while True:
        with transaction(ctx.sessions) as session:
            batch = image_rows.images_without_profile(session, name, after_id=after)
        if not batch:
            return queued
        for image_id in batch:
            try:
                with transaction(ctx.sessions) as session:
                    image_rows.add_variants(session, image_id, wanted)
            except (Conflict, NotFound):
                continue  # added or deleted meanwhile: nothing to do
            ctx.tasks().dispatch(image_id)
            queued += 1
        after = batch[-1]


def _renew_stale(ctx: Context, name: str, spec: TransformSpec) -> int:
    queued, after = 0, None
    while True:
        with transaction(ctx.sessions) as session:
            batch = variant_rows.stale_variants(session, name, spec.spec_hash, after_id=after)
        if not batch:
            return queued
        for variant_id in batch:
            try:
                with transaction(ctx.sessions) as session:
                    variant_rows.requeue_variant(
                        session, variant_id, spec=spec.canonical(), spec_hash=spec.spec_hash
                    )
            except NotFound:
                continue  # its image was deleted meanwhile
            ctx.tasks().transform(variant_id)
            queued += 1
        after = batch[-1]
