"""Images: accept an upload, record it with its pending variants, read and delete it."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.db.schema import Image, Status
from darkroom.errors import Conflict, DarkroomError, InvalidRequest, NotFound
from darkroom.fetch import fetch
from darkroom.imaging import ImageInfo, TransformSpec, probe, verify
from darkroom.imaging.base import decode_base, plan_base
from darkroom.imaging.formats import TRAITS
from darkroom.imaging.verify import verified_by_decoding
from darkroom.service import analyses, profiles, purge, render, webhooks
from darkroom.service.context import Context
from darkroom.service.dto import ImageRecord, Page, VariantRecord
from darkroom.service.handoff import Decoded, pixel_bytes
from darkroom.storage import original_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """What the caller asked for along with the bytes."""

    profiles: Sequence[str] | None = None
    """Profile names; None means every profile."""
    analyses: Sequence[str] | None = None
    """Analysis names; None means the deployment's default analyses."""
    owner_id: str | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    """An accepted image, and whether this call created it (False: idempotent replay)."""

    image: ImageRecord
    created: bool


def upload(ctx: Context, data: bytes, request: Upload) -> Accepted:
    """Validate, store and record an image with its profiles; enqueue its variants.

    The request is checked before an Idempotency-Key replay: a retry of a valid request
    answers as the first did, and an invalid one is refused even under a used key.
    """
    specs = profiles.resolve(ctx, request.profiles)
    wanted = analyses.resolve(ctx, request.analyses)
    earlier = _replay(ctx, request)
    if earlier is not None:
        return earlier
    _check_callback(ctx, request)
    return create(ctx, data, specs, request, wanted)


def upload_from_url(ctx: Context, url: str, request: Upload) -> Accepted:
    """Fetch an image from a URL (SSRF-safe, size-limited) and upload it."""
    specs = profiles.resolve(ctx, request.profiles)
    wanted = analyses.resolve(ctx, request.analyses)
    earlier = _replay(ctx, request)
    if earlier is not None:
        return earlier
    _check_callback(ctx, request)
    return create(ctx, fetch(url, ctx.fetch_policy).content, specs, request, wanted)


def _check_callback(ctx: Context, request: Upload) -> None:
    if request.callback_url is not None:
        webhooks.check_callback_url(ctx, request.callback_url)


def replay(ctx: Context, request: Upload) -> Accepted | None:
    """The image an earlier request with the same Idempotency-Key created, if any."""
    return _replay(ctx, request)


def _replay(ctx: Context, request: Upload) -> Accepted | None:
    """The image an earlier request with the same Idempotency-Key created, if any."""
    if not request.idempotency_key:
        return None
    with transaction(ctx.sessions) as session:
        earlier = image_rows.find_image_by_idempotency_key(session, _idempotency_key(request))
    return None if earlier is None else Accepted(ImageRecord.of(earlier), created=False)


def _idempotency_key(request: Upload) -> str:
    """The stored key: scoped by owner, so that two owners' keys never collide."""
    assert request.idempotency_key is not None
    if request.owner_id is None:
        return request.idempotency_key
    owner = hashlib.sha256(request.owner_id.encode("utf-8")).hexdigest()[:16]
    return f"{owner}:{request.idempotency_key}"


def create(
    ctx: Context,
    data: bytes,
    specs: dict[str, TransformSpec],
    request: Upload,
    analysis_names: Sequence[str] = (),
) -> Accepted:
    """Store the original once (content-addressed), insert the rows, enqueue dispatch."""
    info, decoded = _verified(ctx, data, specs)
    sha256 = hashlib.sha256(data).hexdigest()
    key = original_key(sha256, TRAITS[info.format].extension)
    variants = [image_rows.NewVariant(n, s.canonical(), s.spec_hash) for n, s in specs.items()]
    # Written before the transaction: on SQLite the original's lock is the database's one
    # write lock, which every worker's claim and result waits for; holding it through a
    # write of megabytes made uploads and variants queue behind each other. If the
    # database then fails, the object stays for the client's retry, which has the same
    # bytes and so the same key.
    if not ctx.originals.exists(key):
        ctx.originals.put(key, data, info.mime_type)
    try:
        with transaction(ctx.sessions) as session:
            # Under the original's lock, so that a concurrent delete of another image with
            # the same bytes cannot remove the object between our check and our commit;
            # one that removed it after our write above gets it written again here.
            image_rows.lock_original(session, key)
            image = _insert(
                session, info, key, sha256, len(data), variants, request, analysis_names
            )
            if not ctx.originals.exists(key):
                ctx.originals.put(key, data, info.mime_type)
    except Conflict:
        # A concurrent request with the same Idempotency-Key won the insert: answer as it did.
        earlier = _replay(ctx, request)
        if earlier is None:
            raise
        return earlier
    ctx.metrics.uploads.inc()
    log.info(
        "image accepted",
        extra={
            "image_id": image.id,
            "owner_id": image.owner_id,
            "format": info.format.value,
            "bytes": len(data),
            "profiles": [v.profile for v in image.variants],
            "analyses": [a.analysis for a in image.analyses],
        },
    )
    if decoded is not None and ctx.handoff is not None:
        ctx.handoff.put(key, decoded)
    enqueue_new(ctx, image)
    return Accepted(image, created=True)


def _verified(
    ctx: Context, data: bytes, specs: dict[str, TransformSpec]
) -> tuple[ImageInfo, Decoded | None]:
    """Verify an upload; by decoding the base its variants share when this process's
    own workers will render them (`service.handoff`), and there is room to keep it."""
    info = probe(data, ctx.limits)
    if ctx.handoff is None or not verified_by_decoding(info):
        return verify(data, ctx.limits, info=info), None
    chosen = plan_base(data, list(specs.values()), info, minimum=1)
    if chosen is None:
        return verify(data, ctx.limits, info=info), None
    bands = 4 if info.has_alpha else 3
    if not ctx.handoff.has_room(len(data) + pixel_bytes(chosen.pixels, bands)):
        ctx.metrics.handoffs.labels(outcome="no_room").inc()
        return verify(data, ctx.limits, info=info), None
    return info, Decoded(data, info, decode_base(data, info, chosen))


def _insert(
    session: Session,
    info: ImageInfo,
    key: str,
    sha256: str,
    size: int,
    variants: list[image_rows.NewVariant],
    request: Upload,
    analysis_names: Sequence[str],
) -> ImageRecord:
    width, height = info.upright_size()
    created = image_rows.create_image(
        session,
        original_key=key,
        sha256=sha256,
        mime_type=info.mime_type,
        file_size=size,
        width=width,
        height=height,
        frames=info.frames,
        has_alpha=info.has_alpha,
        owner_id=request.owner_id,
        callback_url=request.callback_url,
        idempotency_key=_idempotency_key(request) if request.idempotency_key else None,
        variants=variants,
        analyses=analysis_names,
    )
    return ImageRecord.of(created)


def enqueue_new(ctx: Context, image: ImageRecord) -> None:
    """Hand a new image's work to the queue: a message for its variants (whose worker
    claims the siblings with the first, `variants.process`) and one per analysis.

    Every row of a new image is due, so the upload sends what a dispatch message would
    have its worker send after reading the image back: one queue hop and one transaction
    fewer between the upload and its first variant. If the broker fails, the reconciler
    picks the work up.
    """
    try:
        if image.variants:
            ctx.tasks().transform(image.variants[0].id)
        for analysis in image.analyses:
            ctx.tasks().analyze(analysis.analysis, analysis.id)
    except DarkroomError as exc:
        log.warning("could not enqueue image %s, the reconciler will: %s", image.id, exc)


def enqueue_dispatch(ctx: Context, image_id: str) -> None:
    """Hand the image to the queue; if the broker fails, the reconciler will pick it up."""
    try:
        ctx.tasks().dispatch(image_id)
    except DarkroomError as exc:
        log.warning("could not enqueue image %s, the reconciler will: %s", image_id, exc)


def add_profiles(
    ctx: Context, image_id: str, names: Sequence[str], *, owner: str | None = None
) -> ImageRecord:
    """Request more profiles for an existing image."""
    specs = profiles.resolve(ctx, names)
    variants = [image_rows.NewVariant(n, s.canonical(), s.spec_hash) for n, s in specs.items()]
    with transaction(ctx.sessions) as session:
        image_rows.get_image(session, image_id, owner_id=owner)
        image_rows.add_variants(session, image_id, variants)
        image = ImageRecord.of(image_rows.get_image(session, image_id))
    enqueue_dispatch(ctx, image_id)
    return image


def get(ctx: Context, image_id: str, *, owner: str | None = None) -> ImageRecord:
    """The image with its variants; NotFound if there is none (of `owner`, if given).

    Every use-case that takes `owner` scopes the same way: None is every owner (admin).
    """
    with transaction(ctx.sessions) as session:
        return ImageRecord.of(image_rows.get_image(session, image_id, owner_id=owner))


def list_page(
    ctx: Context,
    *,
    owner_id: str | None,
    status: Status | None,
    limit: int,
    cursor: str | None,
    profile: str | None = None,
) -> Page[ImageRecord]:
    """A page of images, newest first; with `profile`, only those with its variant."""
    with transaction(ctx.sessions) as session:
        page = image_rows.list_images(
            session,
            owner_id=owner_id,
            status=status,
            profile=profile,
            limit=limit,
            cursor=cursor,
        )
        return Page([ImageRecord.of(i) for i in page.items], page.next_cursor)


def original(ctx: Context, image_id: str, *, owner: str | None = None) -> tuple[ImageRecord, bytes]:
    """The image and its original bytes."""
    image = get(ctx, image_id, owner=owner)
    return image, ctx.originals.get(image.original_key)


def variant_location(
    ctx: Context, image_id: str, profile: str, *, owner: str | None = None
) -> str | None:
    """A direct URL of a finished variant when downloads are redirected to the store."""
    if not ctx.settings.redirect_downloads:
        return None
    found = _finished_variant(get(ctx, image_id, owner=owner), profile)
    assert found.output_key is not None
    return ctx.outputs.url(found.output_key)


def variant(
    ctx: Context, image_id: str, profile: str, *, owner: str | None = None
) -> tuple[ImageRecord, VariantRecord, bytes]:
    """A finished variant and its bytes; NotFound (saying its status) while it is not done."""
    image = get(ctx, image_id, owner=owner)
    found = _finished_variant(image, profile)
    assert found.output_key is not None
    return image, found, ctx.outputs.get(found.output_key)


def _finished_variant(image: ImageRecord, profile: str) -> VariantRecord:
    image_id = image.id
    found = image.variant(profile)
    if found is None:
        raise NotFound(f"Image {image_id} has no variant {profile!r}.")
    # A variant being rendered again (a backfill after a profile change) still has its
    # previous output: that is served until the new one replaces it.
    rerendering = found.status in (Status.PENDING, Status.PROCESSING)
    if found.output_key is None or not (found.status is Status.DONE or rerendering):
        raise NotFound(
            f"Variant {profile!r} of image {image_id} is {found.status.value}, not done yet.",
            details={"status": found.status.value, "error": found.error_msg},
        )
    return found


def delete(ctx: Context, image_id: str, *, owner: str | None = None) -> None:
    """Delete the image's rows and objects; the original only when no other image shares it."""
    with transaction(ctx.sessions) as session:
        key = image_rows.get_image(session, image_id, owner_id=owner).original_key
        image_rows.lock_original(session, key)
        image = image_rows.delete_image(session, image_id)
        purge.record(
            session, ctx.settings, image_id, purge.public_paths(image_id, _profiles_of(image))
        )
        if image_rows.count_images_with_original(session, key) == 0:
            ctx.originals.delete(key)
    for row in image.variants:
        if row.output_key:
            ctx.outputs.delete(row.output_key)
    render.forget_image(ctx, image_id, key)


def purge_cdn(ctx: Context, image_id: str, *, owner: str | None = None) -> int:
    """Ask the CDN to drop every URL of the image; how many purge requests that takes."""
    if not purge.enabled(ctx.settings):
        raise InvalidRequest(
            "No CDN is configured to purge: set DARKROOM_CDN_PURGE_BASE (HTTP PURGE) or "
            "DARKROOM_CDN_PURGE_ENDPOINT (POST of the URLs)."
        )
    with transaction(ctx.sessions) as session:
        image = image_rows.get_image(session, image_id, owner_id=owner)
        paths = purge.public_paths(image_id, _profiles_of(image))
        return purge.record(session, ctx.settings, image_id, paths)


def _profiles_of(image: Image) -> list[str]:
    return [v.profile for v in image.variants]
