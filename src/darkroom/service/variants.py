"""Variants: fan an image out to its variants, render one, and recover stuck work."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from darkroom.db.engine import transaction
from darkroom.db.repo import dead_letters as dead_letter_rows
from darkroom.db.repo import images as image_rows
from darkroom.db.repo import variants as variant_rows
from darkroom.db.schema import ImageVariant, Status, utcnow
from darkroom.errors import DarkroomError, JobExpired, NotFound
from darkroom.imaging import ImageInfo, Rendered, TransformSpec, probe, render
from darkroom.imaging.base import Base, shared_base
from darkroom.imaging.budget import Budget
from darkroom.imaging.cost import render_cost
from darkroom.imaging.encode import output_format
from darkroom.imaging.formats import TRAITS
from darkroom.retry import GiveUp, Retry, describe
from darkroom.service import purge, vision
from darkroom.service.completion import record_completion
from darkroom.service.context import Context
from darkroom.settings import usable_cpus
from darkroom.storage import variant_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one transform message did."""

    variant_id: str
    status: Status | None
    """The variant's status afterwards; None when it was not ours to work on."""
    retry_in: float | None = None
    claimed: ImageVariant | None = None
    """The variant as claimed for this attempt; None when it was not ours to work on."""

    @property
    def label(self) -> str:
        """done, failed, retry or skipped: the outcome as metrics and logs name it."""
        if self.status is None:
            return "skipped"
        return "retry" if self.retry_in else self.status.value


def dispatch(ctx: Context, image_id: str) -> int:
    """Enqueue the work on the image's due variants; returns how many are due.

    One message stands for all of them: its worker claims the others with its own
    (`process`) and makes them from one decode. A message each would let two workers
    split an image between them and decode it twice.
    """
    now = utcnow()
    with transaction(ctx.sessions) as session:
        variants = image_rows.get_image(session, image_id).variants
    # A variant waiting out a retry delay already has its delayed message.
    pending = [
        v.id
        for v in variants
        if v.status is Status.PENDING and (v.next_attempt_at is None or v.next_attempt_at <= now)
    ]
    if pending:
        ctx.tasks().transform(pending[0])
    return len(pending)


def process(ctx: Context, variant_id: str, *, waited: float | None = None) -> Outcome:
    """Claim the variant, render it, store it and record the result; classify failures.

    Its image's other variants that are due are claimed with it and made from the same
    decode of the original, each still recorded, retried and dead-lettered on its own. A
    redelivered or duplicated message finds the variant taken or done, and then works only
    on whatever else of the image is due; a render that already reached storage is not
    repeated (the key is deterministic). A message that `waited` in its queue past the job
    TTL fails what it claimed instead (see `expired`): work hours late helps no one.
    """
    started = time.perf_counter()
    try:
        with transaction(ctx.sessions) as session:
            claimed, siblings = variant_rows.claim_group(session, variant_id, lease=ctx.lease)
    except NotFound:
        log.info("variant %s no longer exists (image deleted)", variant_id)
        claimed, siblings = None, []
    group = [claimed, *siblings] if claimed is not None else siblings
    late = expired(ctx, waited, "transform")
    with ctx.metrics.in_flight(len(group)):
        if late is not None and group:
            ctx.metrics.jobs_expired.labels(kind="transform").inc(len(group))
            outcomes = [_observe(ctx, _failed(ctx, v, late), started) for v in group]
        else:
            outcomes = _render_group(ctx, group, started) if group else []
    if claimed is None:
        outcome = Outcome(variant_id, None)
        ctx.metrics.transforms.labels(outcome=outcome.label).inc()
        return outcome
    return outcomes[0]


def expired(ctx: Context, waited: float | None, kind: str) -> JobExpired | None:
    """The error failing a job whose message waited past DARKROOM_JOB_TTL_SECONDS, if so."""
    ttl = ctx.settings.job_ttl_seconds
    if ttl is None or waited is None or waited <= ttl:
        return None
    return JobExpired(
        f"The {kind} waited {waited:.0f} s in the queue, longer than "
        f"DARKROOM_JOB_TTL_SECONDS={ttl:g}: failed rather than done late. Replay its dead "
        "letter to run it now.",
        details={"waited_seconds": round(waited, 1), "ttl_seconds": ttl},
    )


@dataclass(frozen=True)
class _Stored:
    """A variant's render, in storage and not yet recorded."""

    variant: ImageVariant
    key: str
    result: Rendered


def _render_group(ctx: Context, group: list[ImageVariant], started: float) -> list[Outcome]:
    """Render every claimed variant of one image from one read (and, if it helps, one
    decode) of its original, side by side, then record them together; the outcome of
    each, logged and counted."""
    source = group[0].image.original_key
    specs = [TransformSpec.coerce(v.spec) for v in group]
    decoded = ctx.handoff.take(source) if ctx.handoff is not None else None
    base: Base | None
    try:
        if decoded is not None:
            ctx.metrics.handoffs.labels(outcome="used").inc()
            original, info, base = decoded.data, decoded.info, decoded.base
        else:
            original = ctx.originals.get(source)
            info = probe(original, ctx.limits)
            base = shared_base(original, specs, info, ctx.limits) if len(group) > 1 else None
    except Exception as exc:
        return [_observe(ctx, _failed(ctx, variant, exc), started) for variant in group]

    def one(index: int) -> _Stored | Outcome:
        variant = group[index]
        try:
            key, result = _produce(ctx, variant, specs[index], original, info, base)
        except Exception as exc:
            return _observe(ctx, _failed(ctx, variant, exc), started)
        return _Stored(variant, key, result)

    # Costliest first: this thread takes the costliest render (an 800 px WebP's encode is
    # most of a group's time) while the others share the rest, so the last variant is
    # ready when the costliest is rather than after it.
    order = sorted(range(len(group)), key=lambda i: -_estimated_cost(specs[i], info))
    threads = min(len(group), usable_cpus())
    if threads < 2:
        made = {i: one(i) for i in order}
    else:
        with ThreadPoolExecutor(threads - 1, thread_name_prefix="variant") as pool:
            rest = {i: pool.submit(one, i) for i in order[1:]}
            made = {order[0]: one(order[0])}
            made |= {i: future.result() for i, future in rest.items()}
    # One transaction records them all: the image's status is worked out once, not once
    # per variant, and the last to finish is what the client waits for anyway.
    in_order = [made[i] for i in range(len(group))]
    recorded = iter(_record(ctx, [m for m in in_order if isinstance(m, _Stored)]))
    return [
        m if isinstance(m, Outcome) else _observe(ctx, next(recorded), started) for m in in_order
    ]


def _estimated_cost(spec: TransformSpec, info: ImageInfo) -> float:
    """How much work the render is, only to order a group's renders (0 if unplannable)."""
    fmt = output_format(spec.format, info)
    frames = info.frames if info.animated and TRAITS[fmt].animation else 1
    try:
        return render_cost(spec, info.upright_size(), source=info.format, output=fmt, frames=frames)
    except DarkroomError:  # the render itself will fail and say why
        return 0.0


def _observe(ctx: Context, outcome: Outcome, started: float) -> Outcome:
    ctx.metrics.transforms.labels(outcome=outcome.label).inc()
    variant = outcome.claimed
    if variant is not None:
        ctx.metrics.transform_seconds.observe(time.perf_counter() - started)
        log.info(
            "transform %s",
            outcome.label,
            extra={
                "image_id": variant.image_id,
                "variant_id": variant.id,
                "profile": variant.profile,
                "attempt": variant.attempt_count,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "outcome": outcome.label,
            },
        )
    return outcome


def _record(ctx: Context, stored: list[_Stored]) -> list[Outcome]:
    """Record renders of one image as done, in one transaction; their outcomes, in order."""
    if not stored:
        return []
    image_id = stored[0].variant.image_id
    outputs = [
        variant_rows.VariantOutput(
            s.variant.id,
            s.key,
            s.result.width,
            s.result.height,
            s.result.size,
            s.result.format.value,
        )
        for s in stored
    ]
    # Rendered anew with a newer spec: the old output goes, and the CDN's copy of it.
    replaced = [s.variant for s in stored if s.variant.output_key not in (None, s.key)]
    try:
        with transaction(ctx.sessions) as session:
            change = variant_rows.mark_variants_done(session, image_id, outputs)
            record_completion(session, change)
            if replaced:
                paths = [purge.variant_path(image_id, v.profile) for v in replaced]
                purge.record(session, ctx.settings, image_id, paths)
    except NotFound:
        # The image was deleted while we rendered: do not leave its outputs behind.
        for s in stored:
            ctx.outputs.delete(s.key)
        return [Outcome(s.variant.id, None) for s in stored]
    for variant in replaced:
        assert variant.output_key is not None
        ctx.outputs.delete(variant.output_key)
    return [Outcome(s.variant.id, Status.DONE, claimed=s.variant) for s in stored]


def _produce(
    ctx: Context,
    variant: ImageVariant,
    spec: TransformSpec,
    original: bytes,
    info: ImageInfo,
    base: Base | None,
) -> tuple[str, Rendered]:
    budget = Budget(ctx.settings.render_timeout_seconds)
    seen = vision.inputs(ctx, variant.image.original_key, original, spec, info)
    result: Rendered = render(
        original,
        spec,
        limits=ctx.limits,
        info=info,
        budget=budget,
        base=base,
        encoding=ctx.encoding,
        **seen,
    )
    key = variant_key(
        variant.image_id, variant.profile, variant.spec_hash, TRAITS[result.format].extension
    )
    # The key is the idempotency token: a retried render of the same spec writes the same
    # bytes to the same place, so an existing object needs no second write.
    if not ctx.outputs.exists(key):
        ctx.outputs.put(key, result.data, result.mime_type)
    return key, result


def _failed(ctx: Context, variant: ImageVariant, exc: Exception) -> Outcome:
    decision = ctx.retry.decide(exc, variant.attempt_count)
    with transaction(ctx.sessions) as session:
        if isinstance(decision, Retry):
            retry_at = utcnow() + timedelta(seconds=decision.delay)
            variant_rows.retry_variant(
                session, variant.id, error_msg=describe(exc), retry_at=retry_at
            )
        else:
            change = variant_rows.mark_variant_failed(
                session, variant.id, error_msg=decision.reason
            )
            # A worker whose lease ran out may fail after another finished the variant.
            current = session.get(ImageVariant, variant.id, populate_existing=True)
            if current is not None and current.status is Status.FAILED:
                _dead_letter(session, variant, decision)
                record_completion(session, change)
    if isinstance(decision, Retry):
        log.warning(
            "variant %s attempt %d failed, retrying in %.1fs: %s",
            variant.id,
            variant.attempt_count,
            decision.delay,
            exc,
        )
        ctx.tasks().transform(variant.id, delay=decision.delay)
        return Outcome(variant.id, Status.PENDING, retry_in=decision.delay, claimed=variant)
    log.warning("variant %s failed for good: %s", variant.id, decision.reason)
    return Outcome(variant.id, Status.FAILED, claimed=variant)


def _dead_letter(session: Session, variant: ImageVariant, decision: GiveUp) -> None:
    dead_letter_rows.add_dead_letter(
        session,
        kind="transform",
        image_id=variant.image_id,
        variant_id=variant.id,
        reason=decision.reason,
        error_code=decision.code,
        attempts=variant.attempt_count,
        payload={"variant_id": variant.id, "profile": variant.profile, "spec": variant.spec},
    )


def reconcile(ctx: Context, *, pending_grace: timedelta) -> int:
    """Re-enqueue variants whose lease expired or that waited too long; returns how many."""
    with transaction(ctx.sessions) as session:
        stuck = [
            v.id for v in variant_rows.find_stuck_variants(session, pending_grace=pending_grace)
        ]
    for variant_id in stuck:
        ctx.tasks().transform(variant_id)
    return len(stuck)


def recover(ctx: Context) -> tuple[int, int]:
    """After a restart of the only process on this queue: (leases released, re-enqueued)."""
    with transaction(ctx.sessions) as session:
        released = variant_rows.release_leases(session)
    return released, reconcile(ctx, pending_grace=timedelta(0))
