"""Images and the variant rows requested with them."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from darkroom.db.ids import new_id
from darkroom.db.repo._sql import flush_or_conflict
from darkroom.db.repo.analyses import new_analysis_row
from darkroom.db.repo.pagination import Page, keyset_page
from darkroom.db.repo.variants import refresh_image_status
from darkroom.db.schema import Image, ImageAnalysis, ImageVariant, Status, utcnow
from darkroom.errors import Conflict, InvalidRequest, NotFound

_WITH_WORK = (selectinload(Image.variants), selectinload(Image.analyses))
"""What every image read loads with it: its variants and its analyses."""

# Two-key advisory locks live apart from the one-key migration lock; this one is "orig".
_ORIGINALS_LOCK_NAMESPACE = 0x6F726967


@dataclass(frozen=True)
class NewVariant:
    """A variant to create: the profile name and the canonical spec it stands for."""

    profile: str
    spec: Mapping[str, Any]
    spec_hash: str


def create_image(
    session: Session,
    *,
    original_key: str,
    sha256: str,
    mime_type: str,
    file_size: int,
    width: int,
    height: int,
    frames: int = 1,
    has_alpha: bool = False,
    owner_id: str | None = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
    variants: Sequence[NewVariant] = (),
    analyses: Sequence[str] = (),
    now: datetime | None = None,
) -> Image:
    """Insert an image, one pending variant row per requested profile and one pending
    analysis row per requested analysis, in one flush.

    The returned image has its variants in profile order, as `get_image` loads them.
    Conflict if `idempotency_key` is already taken (the transaction must then be rolled
    back); the caller commits.
    """
    _refuse_duplicate_profiles(variants)
    now = now or utcnow()
    image = Image(
        id=new_id(),
        owner_id=owner_id,
        original_key=original_key,
        sha256=sha256,
        mime_type=mime_type,
        file_size=file_size,
        width=width,
        height=height,
        frames=frames,
        has_alpha=has_alpha,
        status=Status.PENDING if variants or analyses else Status.DONE,
        callback_url=callback_url,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
    )
    # In profile order, as get_image loads them, so callers see one order everywhere.
    image.variants = [_new_variant_row(v, now) for v in _by_profile(variants)]
    image.analyses = [new_analysis_row(name, now) for name in sorted(set(analyses))]
    session.add(image)
    flush_or_conflict(session, "An image with this idempotency key already exists.")
    return image


def get_image(session: Session, image_id: str, *, owner_id: str | None = None) -> Image:
    """The image with its variants loaded; NotFound if there is none (for `owner_id`).

    Another owner's image is reported exactly like a missing one, so ids do not leak.
    """
    params = {"image_id": image_id, "owner_id": owner_id}
    image = session.execute(_image_with_work(owner_id is not None), params).scalar_one_or_none()
    if image is None:
        raise NotFound(f"Image {image_id} not found.")
    return image


@functools.cache
def _image_with_work(of_owner: bool) -> sa.Select[Image]:
    # Built once: clients poll this read, and building the statement cost more than the
    # query (db.repo._work).
    stmt = sa.select(Image).options(*_WITH_WORK).where(Image.id == sa.bindparam("image_id"))
    if of_owner:
        stmt = stmt.where(Image.owner_id == sa.bindparam("owner_id"))
    return stmt.execution_options(populate_existing=True)


def find_image_by_idempotency_key(session: Session, idempotency_key: str) -> Image | None:
    """The image created earlier under this idempotency key, with its variants, if any."""
    return session.execute(
        sa.select(Image).options(*_WITH_WORK).where(Image.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


def list_images(
    session: Session,
    *,
    owner_id: str | None = None,
    status: Status | None = None,
    profile: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Image]:
    """Images newest first, optionally of one owner, status and/or with a variant of one
    profile, with variants loaded."""
    filters: list[sa.ColumnElement[bool]] = []
    if owner_id is not None:
        filters.append(Image.owner_id == owner_id)
    if status is not None:
        filters.append(Image.status == status)
    if profile is not None:
        filters.append(
            sa.exists().where(ImageVariant.image_id == Image.id, ImageVariant.profile == profile)
        )
    return keyset_page(
        session,
        Image,
        Image.id,
        filters,
        limit=limit,
        cursor=cursor,
        options=_WITH_WORK,
    )


def add_variants(
    session: Session,
    image_id: str,
    variants: Sequence[NewVariant],
    *,
    now: datetime | None = None,
) -> list[ImageVariant]:
    """Request more profiles for an existing image; Conflict if one is already there.

    Returns the new variant rows in profile order.
    """
    _refuse_duplicate_profiles(variants)
    now = now or utcnow()
    # Lock the image first so a concurrent add of the same profile waits, then conflicts.
    exists = session.execute(
        sa.select(Image.id).where(Image.id == image_id).with_for_update()
    ).scalar_one_or_none()
    if exists is None:
        raise NotFound(f"Image {image_id} not found.")
    wanted = [v.profile for v in variants]
    taken = session.scalars(
        sa.select(ImageVariant.profile).where(
            ImageVariant.image_id == image_id, ImageVariant.profile.in_(wanted)
        )
    ).all()
    if taken:
        raise Conflict(f"The image already has the profiles {', '.join(sorted(taken))}.")
    rows = [_new_variant_row(v, now, image_id=image_id) for v in _by_profile(variants)]
    session.add_all(rows)
    flush_or_conflict(session, "The image already has one of these profiles.")
    refresh_image_status(session, image_id, now=now)
    return rows


def delete_image(session: Session, image_id: str) -> Image:
    """Delete an image and (by cascade) its variants and analyses; returns it, loaded."""
    # Lock the work rows before the image: a concurrent claim locks its row and then the
    # image, so taking them in the same order cannot deadlock.
    for model in (ImageVariant, ImageAnalysis):
        session.execute(sa.select(model.id).where(model.image_id == image_id).with_for_update())
    image = get_image(session, image_id)
    session.delete(image)
    session.flush()
    return image


def lock_original(session: Session, original_key: str) -> None:
    """Hold a lock on one original's key until the transaction ends.

    Originals are content-addressed, so images with the same bytes share one object. An
    upload deciding to reuse it and a delete deciding it is unused take this lock first,
    so the delete never removes an object the upload has just counted on.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(original_key.encode(), digest_size=4).digest()
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
            {"namespace": _ORIGINALS_LOCK_NAMESPACE, "key": int.from_bytes(digest, signed=True)},
        )
    else:
        # SQLite has a single writer: any write statement, even one matching no row,
        # takes the database write lock for the rest of the transaction.
        session.execute(sa.text("UPDATE images SET id = id WHERE 1 = 0"))


def count_images_with_original(session: Session, original_key: str) -> int:
    """How many images use this original object."""
    count = session.scalar(
        sa.select(sa.func.count()).select_from(Image).where(Image.original_key == original_key)
    )
    return count or 0


def _new_variant_row(
    variant: NewVariant, now: datetime, *, image_id: str | None = None
) -> ImageVariant:
    row = ImageVariant(
        id=new_id(),
        profile=variant.profile,
        spec=dict(variant.spec),
        spec_hash=variant.spec_hash,
        status=Status.PENDING,
        attempt_count=0,
        created_at=now,
        updated_at=now,
    )
    if image_id is not None:
        row.image_id = image_id
    return row


def _by_profile(variants: Sequence[NewVariant]) -> list[NewVariant]:
    return sorted(variants, key=lambda v: v.profile)


def _refuse_duplicate_profiles(variants: Sequence[NewVariant]) -> None:
    profiles = [v.profile for v in variants]
    repeated = sorted({p for p in profiles if profiles.count(p) > 1})
    if repeated:
        raise InvalidRequest(f"Profiles requested more than once: {', '.join(repeated)}.")


def images_without_profile(
    session: Session, profile: str, *, after_id: str | None = None, limit: int = 500
) -> list[str]:
    """Ids of images that have no variant for `profile`, oldest first, after `after_id`."""
    has_it = (
        sa.select(ImageVariant.id)
        .where(ImageVariant.image_id == Image.id, ImageVariant.profile == profile)
        .exists()
    )
    stmt = sa.select(Image.id).where(~has_it)
    if after_id is not None:
        stmt = stmt.where(Image.id > after_id)
    return list(session.scalars(stmt.order_by(Image.id).limit(limit)))
