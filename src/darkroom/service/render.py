"""On-demand rendering: a spec applied to a stored or remote original, cached in storage."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.db.repo import render_cache as cache_rows
from darkroom.errors import InvalidRequest, NotFound
from darkroom.fetch import FetchPolicy, fetch
from darkroom.imaging import ImageFormat, ImageInfo, OutputFormat, TransformSpec, probe
from darkroom.imaging import render as render_image
from darkroom.imaging.budget import Budget
from darkroom.imaging.cost import is_heavy, render_cost
from darkroom.imaging.formats import TRAITS
from darkroom.imaging.pipeline import output_format_for
from darkroom.imaging.probe import ANIMATED_FORMATS
from darkroom.service import vision
from darkroom.service.context import Context
from darkroom.service.source_cache import Source
from darkroom.storage import cache_key, remote_source_key

_FORMAT_OF_MIME = {traits.mime_type: fmt for fmt, traits in TRAITS.items()}

SpecFor = Callable[[tuple[int, int]], TransformSpec]
"""A spec that depends on the source's upright (width, height), as the compatible URL
grammars' sizes do (thumbor's adaptive-fit-in, imgproxy's rt:auto); worked out at planning."""
EVICTION_BATCH = 200


@dataclass(frozen=True)
class Plan:
    """Everything about a render that is known before any pixel work."""

    scope: str
    """The image id, or `remote-<hash>` for a remote source: the cache folder."""
    source_key: str | None
    """Storage key of a stored original; None for a remote source."""
    source_url: str | None
    spec: TransformSpec
    """The requested spec with format=auto/original resolved to a concrete format."""
    key: str
    etag: str
    media_type: str
    vary_accept: bool
    heavy: bool
    """Estimated from the header and spec to be heavy work: it runs in the heavy lane."""


@dataclass(frozen=True)
class Rendition:
    """Encoded bytes ready to send."""

    data: bytes
    cached: bool


@dataclass(frozen=True)
class _Facts:
    """What rendering needs to know of a stored image; immutable once uploaded."""

    original_key: str
    owner_id: str | None
    sha256: str
    source: ImageFormat
    width: int
    height: int
    frames: int
    has_alpha: bool
    animated: bool
    expires: float


FACTS_TTL_SECONDS = 60.0
FACTS_MAX_ENTRIES = 10_000
_facts: dict[str, _Facts] = {}
_facts_lock = threading.Lock()


def plan_stored(
    ctx: Context,
    image_id: str,
    spec: TransformSpec | SpecFor,
    accept: str,
    *,
    owner: str | None = None,
) -> Plan:
    """The plan for rendering a stored image; NotFound if there is no such image (of owner)."""
    facts = _image_facts(ctx, image_id)
    if owner is not None and facts.owner_id != owner:
        raise NotFound(f"Image {image_id} not found.")
    if not isinstance(spec, TransformSpec):
        spec = spec((facts.width, facts.height))
    vision.check(ctx, spec)
    fmt = output_format_for(
        spec, facts.source, accept, has_alpha=facts.has_alpha, animated=facts.animated
    )
    resolved = spec.model_copy(update={"format": OutputFormat(fmt.value)})
    frames = facts.frames if facts.animated and TRAITS[fmt].animation else 1
    cost = render_cost(
        resolved, (facts.width, facts.height), source=facts.source, output=fmt, frames=frames
    )
    return _plan(image_id, facts.original_key, None, resolved, facts.sha256, spec, is_heavy(cost))


def _image_facts(ctx: Context, image_id: str) -> _Facts:
    # A render is a hot path; an image's facts never change, so one query a minute (per
    # process) replaces one per request. A deleted image's original is gone, which turns
    # a stale entry into a 404 at the latest when the original is read.
    now = time.monotonic()
    cached = _facts.get(image_id)
    if cached is not None and cached.expires > now:
        return cached
    with transaction(ctx.sessions) as session:
        image = image_rows.get_image(session, image_id)
    source = _FORMAT_OF_MIME.get(image.mime_type, ImageFormat.JPEG)
    facts = _Facts(
        original_key=image.original_key,
        owner_id=image.owner_id,
        sha256=image.sha256,
        source=source,
        width=image.width,
        height=image.height,
        frames=image.frames,
        has_alpha=image.has_alpha,
        animated=image.frames > 1 and source in ANIMATED_FORMATS,
        expires=now + FACTS_TTL_SECONDS,
    )
    with _facts_lock:
        if len(_facts) >= FACTS_MAX_ENTRIES:
            _facts.clear()
        _facts[image_id] = facts
    return facts


def plan_remote(ctx: Context, url: str, spec: TransformSpec | SpecFor, accept: str) -> Plan:
    """The plan for rendering a remote source (fetched once, then cached like an original)."""
    _remote_policy(ctx)  # refuse early when remote sources are off
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    scope = f"remote-{digest[:40]}"
    # The header decides the output format (auto, original) and the lane; the source is
    # fetched once and cached, so the render itself reads it from there.
    info = probe(_remote_source(ctx, url, scope), ctx.limits)
    if not isinstance(spec, TransformSpec):
        spec = spec(info.upright_size())
    vision.check(ctx, spec)
    fmt = output_format_for(
        spec, info.format, accept, has_alpha=info.has_alpha, animated=info.animated
    )
    resolved = spec.model_copy(update={"format": OutputFormat(fmt.value)})
    frames = info.frames if info.animated and TRAITS[fmt].animation else 1
    cost = render_cost(resolved, info.upright_size(), source=info.format, output=fmt, frames=frames)
    return _plan(scope, None, url, resolved, digest, spec, is_heavy(cost))


def source_bytes(
    ctx: Context, image_id: str | None, url: str | None, *, owner: str | None
) -> bytes:
    """The bytes of a stored image's original or of an allow-listed remote image (a
    watermark named in a URL): read like a render's source, with the same checks."""
    if image_id is not None:
        facts = _image_facts(ctx, image_id)
        if owner is not None and facts.owner_id != owner:
            raise NotFound(f"Image {image_id} not found.")
        return _stored_original(ctx, facts.original_key)[0]
    assert url is not None
    _remote_policy(ctx)
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return _remote_source(ctx, url, f"remote-{digest[:40]}")


def cached(ctx: Context, plan: Plan) -> Rendition | None:
    """The rendition from the render cache, if it is there."""
    if not ctx.settings.render_cache:
        return None
    with transaction(ctx.sessions) as session:
        indexed = cache_rows.touch_cache_entry(session, plan.key)
    # An indexed object evicted by another process meanwhile is simply rendered again.
    with suppress(NotFound):
        if indexed:
            return Rendition(ctx.outputs.get(plan.key), cached=True)
    return None


def produce(ctx: Context, plan: Plan) -> Rendition:
    """The rendition from the cache, or rendered now (and cached)."""
    use_cache = ctx.settings.render_cache
    hit = cached(ctx, plan)
    if hit is not None:
        return hit
    info: ImageInfo | None = None  # a remote source can change at its origin: probe anew
    if plan.source_key is not None:
        original, info = _stored_original(ctx, plan.source_key)
    else:
        assert plan.source_url is not None
        original = _remote_source(ctx, plan.source_url, plan.scope)
    budget = Budget(ctx.settings.render_timeout_seconds)
    seen = vision.inputs(ctx, plan.source_key or plan.scope, original, plan.spec, info)
    result = render_image(
        original,
        plan.spec,
        limits=ctx.limits,
        info=info,
        budget=budget,
        encoding=ctx.encoding,
        **seen,
    )
    if use_cache:
        ctx.outputs.put(plan.key, result.data, result.mime_type)
        with transaction(ctx.sessions) as session:
            cache_rows.add_cache_entry(session, plan.key, image_id=plan.scope, size=result.size)
        evict(ctx)
    return Rendition(result.data, cached=False)


def _stored_original(ctx: Context, key: str) -> tuple[bytes, ImageInfo]:
    # The key is content-addressed: neither the bytes nor their header ever change.
    source = ctx.render_sources.get(key)
    if source is None:
        data = ctx.originals.get(key)
        source = Source(data, probe(data, ctx.limits))
        ctx.render_sources.put(key, source)
    return source.data, source.info


def evict(ctx: Context) -> int:
    """Delete the least recently served renders until the cache fits its cap; how many."""
    removed = 0
    while True:
        with transaction(ctx.sessions) as session:
            excess = cache_rows.cache_size(session) - ctx.settings.cache_max_bytes
            if excess <= 0:
                return removed
            victims, freed = [], 0
            for entry in cache_rows.least_recently_used(session, limit=EVICTION_BATCH):
                victims.append(entry.key)
                freed += entry.size
                if freed >= excess:
                    break
            cache_rows.delete_cache_entries(session, victims)
        for key in victims:
            ctx.outputs.delete(key)
        removed += len(victims)


def forget_image(ctx: Context, image_id: str, original_key: str) -> None:
    """Remove every cached render of an image (when the image is deleted)."""
    with _facts_lock:
        _facts.pop(image_id, None)
    vision.forget(original_key)
    # Another image may share the original; it is read from storage again if so.
    ctx.render_sources.discard(original_key)
    with transaction(ctx.sessions) as session:
        keys = cache_rows.cache_keys_of_image(session, image_id)
        cache_rows.delete_cache_entries(session, keys)
    for key in {*keys, *ctx.outputs.iterate(f"cache/{image_id}/")}:
        ctx.outputs.delete(key)


def _plan(
    scope: str,
    source_key: str | None,
    source_url: str | None,
    resolved: TransformSpec,
    source_digest: str,
    requested: TransformSpec,
    heavy: bool,
) -> Plan:
    fmt = ImageFormat(resolved.format.value)
    spec_hash = resolved.spec_hash
    return Plan(
        scope=scope,
        source_key=source_key,
        source_url=source_url,
        spec=resolved,
        key=cache_key(scope, spec_hash, TRAITS[fmt].extension),
        etag=f'"{source_digest[:12]}-{spec_hash}"',
        media_type=TRAITS[fmt].mime_type,
        vary_accept=requested.format is OutputFormat.AUTO,
        heavy=heavy,
    )


def _remote_policy(ctx: Context) -> FetchPolicy:
    hosts = ctx.settings.render_allow_hosts
    if not hosts:
        raise InvalidRequest(
            "Remote sources are off: list the allowed origins in DARKROOM_RENDER_ALLOW_HOSTS."
        )
    base = ctx.fetch_policy
    return FetchPolicy(
        allow_hosts=tuple(hosts),
        require_allow_list=True,
        connect_timeout=base.connect_timeout,
        read_timeout=base.read_timeout,
        total_timeout=base.total_timeout,
        max_bytes=ctx.limits.max_bytes,
        allow_hosts_setting="DARKROOM_RENDER_ALLOW_HOSTS",
        own_address=base.own_address,
    )


def _remote_source(ctx: Context, url: str, scope: str) -> bytes:
    """A remote original, from the cache or fetched (SSRF-safe, size-limited) and cached."""
    key = remote_source_key(scope)
    if ctx.settings.render_cache:
        with suppress(NotFound):
            return ctx.outputs.get(key)
    data = fetch(url, _remote_policy(ctx)).content
    probe(data, ctx.limits)  # refuse what is not an acceptable image before keeping it
    if ctx.settings.render_cache:
        ctx.outputs.put(key, data)
        with transaction(ctx.sessions) as session:
            cache_rows.add_cache_entry(session, key, image_id=scope, size=len(data))
    return data
