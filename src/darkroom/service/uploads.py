"""Direct uploads: the client PUTs its bytes to the object store, the API only signs and records.

`start` signs a PUT of exactly the declared size and type to a key of the upload's own;
`complete` reads what arrived and runs it through the same validation and recording as
`POST /v1/images` (`images.upload`); an object that fails is deleted, and an upload never
completed is swept (its object too) once expired.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from darkroom.db.engine import transaction
from darkroom.db.ids import new_id
from darkroom.db.repo import uploads as upload_rows
from darkroom.db.schema import DirectUpload, utcnow
from darkroom.errors import (
    Conflict,
    DarkroomError,
    ImageError,
    ImageTooLarge,
    InvalidRequest,
    NotFound,
    UnsupportedFormat,
)
from darkroom.imaging.formats import TRAITS
from darkroom.service import analyses, images, profiles, webhooks
from darkroom.service.context import Context
from darkroom.service.images import Accepted, Upload
from darkroom.storage import PresigningStore, upload_key

log = logging.getLogger(__name__)

UPLOAD_URL_SECONDS = 900
"""How long a client has to start its PUT: short, since it asked for the URL to use it."""
ACCEPTED_TYPES = frozenset(traits.mime_type for traits in TRAITS.values())
NEEDS_S3 = (
    "Direct uploads need S3 object storage (DARKROOM_STORAGE_URL=s3://bucket/prefix), "
    "which hands out the signed URL the bytes go to; this deployment stores objects in a "
    "local folder. Upload through POST /v1/images instead."
)


@dataclass(frozen=True)
class DirectUploadRequest:
    """What a client declares before it sends the bytes, and what to make of them."""

    content_type: str
    size: int
    filename: str | None = None
    profiles: Sequence[str] | None = None
    analyses: Sequence[str] | None = None
    owner_id: str | None = None
    callback_url: str | None = None


@dataclass(frozen=True)
class Signed:
    """Where and how the client sends the bytes, until `expires_at`."""

    upload_id: str
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


def start(ctx: Context, request: DirectUploadRequest) -> Signed:
    """Check the request as an upload would be checked, record it and sign its PUT.

    The signature covers the `Content-Type` and `Content-Length` headers, so the store
    itself refuses a PUT of another type or size.
    """
    store = _presigning(ctx)
    if request.size < 1:
        raise InvalidRequest("'bytes' must be the file's size in bytes, at least 1.")
    if request.size > ctx.limits.max_bytes:
        raise ImageTooLarge(
            f"The file is {request.size:,} bytes; the limit is {ctx.limits.max_bytes:,} bytes.",
            details={"bytes": request.size, "max_bytes": ctx.limits.max_bytes},
        )
    if request.content_type not in ACCEPTED_TYPES:
        raise UnsupportedFormat(
            f"'content_type' {request.content_type!r} is not an image type Darkroom accepts: "
            f"use one of {', '.join(sorted(ACCEPTED_TYPES))}."
        )
    # Refused now rather than after the client has sent megabytes.
    profiles.resolve(ctx, request.profiles)
    analyses.resolve(ctx, request.analyses)
    if request.callback_url is not None:
        webhooks.check_callback_url(ctx, request.callback_url)
    upload_id = new_id()
    key = upload_key(upload_id)
    expires_at = utcnow() + timedelta(seconds=UPLOAD_URL_SECONDS)
    url = store.presigned_put_url(
        key, request.content_type, UPLOAD_URL_SECONDS, content_length=request.size
    )
    with transaction(ctx.sessions) as session:
        upload_rows.create_upload(
            session,
            upload_id=upload_id,
            owner_id=request.owner_id,
            object_key=key,
            filename=request.filename,
            content_type=request.content_type,
            declared_bytes=request.size,
            request={
                "profiles": None if request.profiles is None else list(request.profiles),
                "analyses": None if request.analyses is None else list(request.analyses),
                "callback_url": request.callback_url,
            },
            expires_at=expires_at,
        )
    log.info(
        "direct upload signed",
        extra={"upload_id": upload_id, "owner_id": request.owner_id, "bytes": request.size},
    )
    headers = {"Content-Type": request.content_type, "Content-Length": str(request.size)}
    return Signed(upload_id, url, "PUT", headers, expires_at)


def complete(ctx: Context, upload_id: str, *, owner: str | None = None) -> Accepted:
    """Validate the bytes the client PUT and record the image, as `POST /v1/images` does.

    Repeat-safe: completing again answers the same image. Bytes that fail validation are
    deleted with the upload; the error says why.
    """
    _presigning(ctx)
    with transaction(ctx.sessions) as session:
        row = upload_rows.get_upload(session, upload_id, owner_id=owner)
        session.expunge(row)
    request = _as_upload(row)
    if row.image_id is not None:
        return Accepted(images.get(ctx, row.image_id), created=False)
    try:
        size = ctx.originals.size(row.object_key)
        # The store refuses other sizes; this keeps a store that ignores signed headers
        # (or a bucket policy gone wrong) from handing us more than the client declared.
        if size > row.declared_bytes:
            _discard(ctx, row)
            raise ImageTooLarge(
                f"Upload {upload_id} holds {size:,} bytes; it declared {row.declared_bytes:,}.",
                details={"bytes": size, "declared_bytes": row.declared_bytes},
            )
        data = ctx.originals.get(row.object_key)
    except NotFound:
        # A concurrent completion may have finished (and removed the object) meanwhile.
        replayed = images.replay(ctx, request)
        if replayed is not None:
            return replayed
        raise Conflict(
            f"Upload {upload_id} has no bytes yet: PUT the file to the upload's URL, with "
            "the headers it gave, then complete it.",
            details={"upload_id": upload_id},
        ) from None
    try:
        accepted = images.upload(ctx, data, request)
    except ImageError:
        _discard(ctx, row)
        raise
    with transaction(ctx.sessions) as session:
        upload_rows.mark_completed(session, upload_id, accepted.image.id)
    _delete_object(ctx, row.object_key)
    return accepted


def sweep_expired(ctx: Context, older_than: timedelta) -> int:
    """Forget uploads expired over `older_than` ago, deleting what their clients stored.

    The grace lets a PUT that started just before its URL expired finish first.
    """
    with transaction(ctx.sessions) as session:
        rows = upload_rows.expired(session, utcnow() - older_than)
        session.expunge_all()
    swept = 0
    for row in rows:
        if not _delete_object(ctx, row.object_key):
            continue  # the next pass tries again
        swept += 1
        with transaction(ctx.sessions) as session:
            upload_rows.delete_upload(session, row.id)
        if row.image_id is None:
            log.info("direct upload %s expired uncompleted; swept", row.id)
    return swept


def _presigning(ctx: Context) -> PresigningStore:
    if not isinstance(ctx.originals, PresigningStore):
        raise Conflict(NEEDS_S3)
    return ctx.originals


def _as_upload(row: DirectUpload) -> Upload:
    wanted = row.request
    return Upload(
        profiles=wanted.get("profiles"),
        analyses=wanted.get("analyses"),
        owner_id=row.owner_id,
        callback_url=wanted.get("callback_url"),
        # The image's idempotency key: completing twice, even at once, makes one image.
        idempotency_key=f"direct-upload:{row.id}",
    )


def _discard(ctx: Context, row: DirectUpload) -> None:
    if _delete_object(ctx, row.object_key):
        with transaction(ctx.sessions) as session:
            upload_rows.delete_upload(session, row.id)
    log.info("direct upload %s refused at completion; its object is deleted", row.id)


def _delete_object(ctx: Context, key: str) -> bool:
    """Whether the object is gone; if not, its row stays for the sweeper to try again."""
    try:
        ctx.originals.delete(key)
    except DarkroomError as exc:
        log.warning("could not delete direct upload object %s: %s", key, exc.message)
        return False
    return True
