"""Grants: presigned URLs in each message, so that workers need no storage credentials.

With DARKROOM_WORKER_PRESIGNED=1 the processes that send transform and analysis messages
(the API, the dispatcher, the reconciler, a dead-letter replay) put into each one a GET URL
of the original and, for a transform, HEAD/PUT/DELETE URLs of every output key its work
may write (the key is deterministic, so it is known before the render). A worker started
without credentials works from those alone (`bound`); retries carry the same grant, and
any fresh message (a replay, a reconciler's re-enqueue) carries a fresh one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any

import httpx

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import Image, ImageAnalysis, ImageVariant
from darkroom.errors import ConfigurationError, DarkroomError, NotFound
from darkroom.imaging import TransformSpec
from darkroom.imaging.formats import TRAITS, ImageFormat
from darkroom.imaging.pipeline import output_format_for
from darkroom.imaging.probe import ANIMATED_FORMATS
from darkroom.service.context import Context, TaskQueue
from darkroom.storage import PresigningStore, variant_key
from darkroom.storage.presigned import TIMEOUT, PresignedStore

log = logging.getLogger(__name__)

Grant = dict[str, Any]
"""`{"expires_at": epoch seconds, "urls": {key: {method: url}}}`, as JSON in a message."""

QUEUE_ALLOWANCE_SECONDS = 6 * 3600
"""How long a message may wait in a backlog with its URLs still valid, when no job TTL
bounds the wait."""
MAX_LIFETIME_SECONDS = 7 * 24 * 3600
"""The longest S3 accepts for a presigned URL (signature version 4)."""
NO_CREDENTIALS = (
    "This worker holds no storage credentials and the message carries no presigned URLs: "
    "set DARKROOM_WORKER_PRESIGNED=1 on the API and on the processes that consume the "
    "dispatch queue and reconcile (they sign the URLs), or give this worker credentials."
)

_client: httpx.Client | None = None
_client_lock = threading.Lock()


def enabled(ctx: Context) -> bool:
    """Whether this process puts presigned URLs into the messages it sends."""
    return ctx.settings.worker_presigned


def check(ctx: Context) -> None:
    """Refuse DARKROOM_WORKER_PRESIGNED=1 on storage that cannot sign URLs, at start-up."""
    if enabled(ctx) and not all(isinstance(s, PresigningStore) for s in _stores(ctx)):
        raise ConfigurationError(
            "DARKROOM_WORKER_PRESIGNED=1 needs S3 object storage (s3://bucket/prefix), which "
            "signs the URLs workers use; a local folder has none."
        )


def holds_credentials(ctx: Context) -> bool:
    """Whether this process can reach its stores itself (a local folder always can)."""
    return all(s.has_credentials() for s in _stores(ctx) if isinstance(s, PresigningStore))


def lifetime(ctx: Context) -> int:
    """Seconds a grant stays valid: the whole retry schedule, a lease, and the longest a
    message may wait in its queue (the job TTL, or a generous allowance)."""
    policy = ctx.retry
    retries = sum(
        policy.backoff(attempt, jitter=policy.jitter)
        for attempt in range(1, policy.max_retries + 1)
    )
    waiting = ctx.settings.job_ttl_seconds or QUEUE_ALLOWANCE_SECONDS
    return int(min(retries + ctx.lease.total_seconds() + waiting, MAX_LIFETIME_SECONDS))


def for_variant(ctx: Context, variant_id: str) -> Grant:
    """URLs for a transform message: the original, and each output of the image's variants
    (a message renders every due variant of its image), with their previous outputs."""
    with transaction(ctx.sessions) as session:
        image_id = variant_rows.image_id_of_variant(session, variant_id)
        image = image_rows.get_image(session, image_id)
    expires_in = lifetime(ctx)
    originals, outputs = _signer(ctx.originals), _signer(ctx.outputs)
    urls: dict[str, dict[str, str]] = {
        image.original_key: {"GET": originals.presigned_get_url(image.original_key, expires_in)}
    }
    for variant in image.variants:
        for key in _output_keys(image, variant):
            urls[key] = {
                "HEAD": outputs.presigned_head_url(key, expires_in),
                "PUT": outputs.presigned_put_url(key, expires_in=expires_in),
                "DELETE": outputs.presigned_delete_url(key, expires_in),
            }
        if variant.output_key and variant.output_key not in urls:
            # Rendered before under another spec: the new output replaces it.
            delete = outputs.presigned_delete_url(variant.output_key, expires_in)
            urls[variant.output_key] = {"DELETE": delete}
    return {"expires_at": time.time() + expires_in, "urls": urls}


def for_analysis(ctx: Context, analysis_id: str) -> Grant:
    """URLs for an analysis message: the original it reads."""
    with transaction(ctx.sessions) as session:
        row = session.get(ImageAnalysis, analysis_id)
        image = None if row is None else session.get(Image, row.image_id)
        if image is None:
            raise NotFound(f"Analysis {analysis_id} not found.")
        key = image.original_key
    expires_in = lifetime(ctx)
    url = _signer(ctx.originals).presigned_get_url(key, expires_in)
    return {"expires_at": time.time() + expires_in, "urls": {key: {"GET": url}}}


def bound(ctx: Context, grant: Grant | None) -> Context | None:
    """The context a message's work runs in: its grant's URLs as the stores, and retries
    sent with the same grant. None when the grant expired: the work is left pending for
    the reconciler, which sends it again with fresh URLs."""
    if grant is None:
        if not holds_credentials(ctx):
            raise ConfigurationError(NO_CREDENTIALS)
        return ctx
    left = float(grant["expires_at"]) - time.time()
    # Less than a lease left: the work might outlive its URLs half-way.
    if left < ctx.lease.total_seconds():
        log.warning("a message's presigned URLs expire in %.0f s; left for the reconciler", left)
        return None
    store = PresignedStore(grant["urls"], max_bytes=ctx.limits.max_bytes, client=_http())
    return replace(ctx, originals=store, outputs=store, queue=_Granted(ctx.tasks(), grant))


class _Granted(TaskQueue):
    """The queue as a granted message's work sees it: its retries carry the same URLs."""

    def __init__(self, inner: TaskQueue, grant: Grant) -> None:
        self._inner = inner
        self._grant = grant

    def dispatch(self, image_id: str) -> None:
        self._inner.dispatch(image_id)

    def transform(self, variant_id: str, *, delay: float = 0.0, grant: Grant | None = None) -> None:
        self._inner.transform(variant_id, delay=delay, grant=grant or self._grant)

    def analyze(
        self, analysis: str, analysis_id: str, *, delay: float = 0.0, grant: Grant | None = None
    ) -> None:
        self._inner.analyze(analysis, analysis_id, delay=delay, grant=grant or self._grant)

    def ping(self) -> None:
        self._inner.ping()

    def depth(self) -> dict[str, int]:
        return self._inner.depth()


def _output_keys(image: Image, variant: ImageVariant) -> list[str]:
    """The keys a render of the variant may write: the one its format resolves to from
    the image's recorded facts, or one per writable format when those cannot tell."""
    resolved = _output_format(image, variant)
    formats = [resolved] if resolved else [f for f, t in TRAITS.items() if t.writable]
    return [
        variant_key(image.id, variant.profile, variant.spec_hash, TRAITS[f].extension)
        for f in formats
    ]


def _output_format(image: Image, variant: ImageVariant) -> ImageFormat | None:
    """The variant's output format from the image's recorded facts; None when they cannot
    tell (an unknown type, a spec that no longer validates: the render reports that)."""
    source = next((f for f, t in TRAITS.items() if t.mime_type == image.mime_type), None)
    if source is None:
        return None
    try:
        spec = TransformSpec.coerce(variant.spec)
        animated = image.frames > 1 and source in ANIMATED_FORMATS
        return output_format_for(spec, source, None, has_alpha=image.has_alpha, animated=animated)
    except (DarkroomError, ValueError):
        return None


def _stores(ctx: Context) -> tuple[object, object]:
    return ctx.originals, ctx.outputs


def _signer(store: object) -> PresigningStore:
    if not isinstance(store, PresigningStore):
        raise ConfigurationError("Presigned URLs need S3 object storage.")
    return store


def _http() -> httpx.Client:
    """One connection pool per process for every granted message."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        return _client
