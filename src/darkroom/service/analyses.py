"""Analyses: request them, run one on its own queue, and recover stuck ones.

Worked on exactly like variants: a claim under a lease, the retry policy on failure, a
dead letter when it gives up, and the image done only when its analyses are too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from darkroom.analysis import registry
from darkroom.db.engine import transaction
from darkroom.db.repo import analyses as analysis_rows
from darkroom.db.repo import dead_letters as dead_letter_rows
from darkroom.db.repo import images as image_rows
from darkroom.db.schema import ImageAnalysis, Status, utcnow
from darkroom.errors import NotFound
from darkroom.retry import GiveUp, Retry, describe
from darkroom.service import logos, variants
from darkroom.service.completion import record_completion
from darkroom.service.context import Context
from darkroom.service.dto import AnalysisRecord, ImageRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one analysis message did."""

    analysis_id: str
    status: Status | None
    """The analysis's status afterwards; None when it was not ours to work on."""
    retry_in: float | None = None

    @property
    def label(self) -> str:
        """done, failed, retry or skipped: the outcome as metrics and logs name it."""
        if self.status is None:
            return "skipped"
        return "retry" if self.retry_in else self.status.value


def options(ctx: Context) -> registry.Options:
    """How this deployment runs its analyzers (model files, NSFW threshold)."""
    settings = ctx.settings
    return registry.Options(
        model_paths=dict(settings.analysis_models), nsfw_threshold=settings.nsfw_threshold
    )


def resolve(ctx: Context, names: Sequence[str] | None) -> tuple[str, ...]:
    """The analyses to run: `names`, or the deployment's defaults when None.

    Each must be known (UnknownAnalysis) and runnable here (ExtraNotInstalled, naming the
    pip install): a request is refused rather than accepted and failed later.
    """
    wanted = tuple(dict.fromkeys(ctx.settings.default_analyses if names is None else names))
    for name in wanted:
        registry.check_installed(name, options(ctx))
    return wanted


def request(
    ctx: Context, image_id: str, names: Sequence[str], *, owner: str | None = None
) -> ImageRecord:
    """Ask for more analyses of an image (a failed one is tried afresh; done ones stay)."""
    wanted = resolve(ctx, names)
    with transaction(ctx.sessions) as session:
        image_rows.get_image(session, image_id, owner_id=owner)
        pending = [
            (row.analysis, row.id)
            for row in analysis_rows.request_analyses(session, image_id, wanted)
        ]
        image = ImageRecord.of(image_rows.get_image(session, image_id))
    for name, analysis_id in pending:
        _enqueue(ctx, name, analysis_id)
    return image


def get(ctx: Context, image_id: str, name: str, *, owner: str | None = None) -> AnalysisRecord:
    """One analysis of an image; NotFound if the image has none of that name."""
    registry.module(name)  # an unknown name is a 422, not a 404
    with transaction(ctx.sessions) as session:
        image = ImageRecord.of(image_rows.get_image(session, image_id, owner_id=owner))
    found = image.analysis(name)
    if found is None:
        raise NotFound(
            f"Image {image_id} has no {name!r} analysis; ask for it with POST "
            f"/v1/images/{image_id}/analyses."
        )
    return found


def dispatch(ctx: Context, image_id: str) -> int:
    """Enqueue each pending analysis of the image on its analyzer's queue; how many."""
    now = utcnow()
    with transaction(ctx.sessions) as session:
        rows = image_rows.get_image(session, image_id).analyses
        # One waiting out a retry delay already has its delayed message.
        pending = [
            (row.analysis, row.id)
            for row in rows
            if row.status is Status.PENDING
            and (row.next_attempt_at is None or row.next_attempt_at <= now)
        ]
    for name, analysis_id in pending:
        ctx.tasks().analyze(name, analysis_id)
    return len(pending)


def process(ctx: Context, analysis_id: str, *, waited: float | None = None) -> Outcome:
    """Claim the analysis, run it on the original, record the result; classify failures.

    A message that `waited` in its queue past the job TTL fails the analysis instead.
    """
    started = time.perf_counter()
    try:
        with transaction(ctx.sessions) as session:
            claimed = analysis_rows.claim_analysis(session, analysis_id, lease=ctx.lease)
    except NotFound:
        log.info("analysis %s no longer exists (image deleted)", analysis_id)
        return Outcome(analysis_id, None)
    if claimed is None:
        return Outcome(analysis_id, None)
    name = claimed.analysis
    late = variants.expired(ctx, waited, f"{name} analysis")
    if late is not None:
        ctx.metrics.jobs_expired.labels(kind="analysis").inc()
        outcome = _failed(ctx, claimed, late)
    else:
        with ctx.metrics.analysis_seconds.labels(analysis=name).time():
            outcome = _run(ctx, claimed)
    ctx.metrics.analyses.labels(analysis=name, outcome=outcome.label).inc()
    log.info(
        "analysis %s",
        outcome.label,
        extra={
            "image_id": claimed.image_id,
            "analysis_id": claimed.id,
            "analysis": name,
            "attempt": claimed.attempt_count,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "outcome": outcome.label,
        },
    )
    return outcome


def _run(ctx: Context, claimed: ImageAnalysis) -> Outcome:
    started = time.perf_counter()
    try:
        data = ctx.originals.get(claimed.image.original_key)
        known = logos.references(ctx) if claimed.analysis == "logos" else []
        result, model = registry.run(
            claimed.analysis, data, options(ctx), limits=ctx.limits, references=known
        )
    except Exception as exc:
        return _failed(ctx, claimed, exc)
    try:
        with transaction(ctx.sessions) as session:
            change = analysis_rows.mark_analysis_done(
                session,
                claimed.id,
                result=result,
                model_name=model.name,
                model_version=model.version,
                duration_ms=round((time.perf_counter() - started) * 1000),
            )
            record_completion(session, change)
    except NotFound:
        return Outcome(claimed.id, None)  # the image was deleted meanwhile
    return Outcome(claimed.id, Status.DONE)


def _failed(ctx: Context, claimed: ImageAnalysis, exc: Exception) -> Outcome:
    decision = ctx.retry.decide(exc, claimed.attempt_count)
    with transaction(ctx.sessions) as session:
        if isinstance(decision, Retry):
            retry_at = utcnow() + timedelta(seconds=decision.delay)
            analysis_rows.retry_analysis(
                session, claimed.id, error_msg=describe(exc), retry_at=retry_at
            )
        else:
            change = analysis_rows.mark_analysis_failed(
                session, claimed.id, error_msg=decision.reason
            )
            current = session.get(ImageAnalysis, claimed.id, populate_existing=True)
            if current is not None and current.status is Status.FAILED:
                _dead_letter(session, claimed, decision)
                record_completion(session, change)
    if isinstance(decision, Retry):
        log.warning(
            "analysis %s attempt %d failed, retrying in %.1fs: %s",
            claimed.id,
            claimed.attempt_count,
            decision.delay,
            exc,
        )
        _enqueue(ctx, claimed.analysis, claimed.id, delay=decision.delay)
        return Outcome(claimed.id, Status.PENDING, retry_in=decision.delay)
    log.warning("analysis %s failed for good: %s", claimed.id, decision.reason)
    return Outcome(claimed.id, Status.FAILED)


def _dead_letter(session: Session, claimed: ImageAnalysis, decision: GiveUp) -> None:
    dead_letter_rows.add_dead_letter(
        session,
        kind="analysis",
        image_id=claimed.image_id,
        variant_id=claimed.id,
        reason=decision.reason,
        error_code=decision.code,
        attempts=claimed.attempt_count,
        payload={"analysis_id": claimed.id, "analysis": claimed.analysis},
    )


def _enqueue(ctx: Context, name: str, analysis_id: str, *, delay: float = 0.0) -> None:
    ctx.tasks().analyze(name, analysis_id, delay=delay)


def reconcile(ctx: Context, *, pending_grace: timedelta) -> int:
    """Re-enqueue analyses whose lease expired or that waited too long; how many."""
    with transaction(ctx.sessions) as session:
        stuck = [
            (row.analysis, row.id)
            for row in analysis_rows.find_stuck_analyses(session, pending_grace=pending_grace)
        ]
    for name, analysis_id in stuck:
        _enqueue(ctx, name, analysis_id)
    return len(stuck)


def recover(ctx: Context) -> tuple[int, int]:
    """After a restart of the only process on this queue: (leases released, re-enqueued)."""
    with transaction(ctx.sessions) as session:
        released = analysis_rows.release_leases(session)
    return released, reconcile(ctx, pending_grace=timedelta(0))
