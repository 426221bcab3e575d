"""Submit mode of `darkroom batch`: upload every input to the cluster, then follow its
variants and analyses.

Uploads go through the service layer exactly as `POST /v1/images` does (checks, stored
original, rows, dispatch message), so the cluster's workers cannot tell a batch from API
traffic. Progress is read back from the database, the source of truth.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from darkroom.batch.inputs import Item, Source, State, failed, read_input
from darkroom.errors import DarkroomError, TransientError
from darkroom.service import images
from darkroom.service.context import Context
from darkroom.service.dto import AnalysisRecord, ImageRecord, Status, VariantRecord

FINISHED = (Status.DONE, Status.FAILED)


@dataclass(frozen=True)
class Submitted:
    """An uploaded input and the image the service recorded for it."""

    path: str
    image_id: str


SHARED_BROKER = (
    "batch --submit hands the work to the cluster's workers, which an in-process "
    "memory:// broker cannot reach: set DARKROOM_BROKER_URL to the cluster's broker "
    "(amqp://… or redis://…), or leave out --submit to render on this machine."
)
"""Why the in-process broker is refused for submit mode."""


def submit(
    ctx: Context,
    sources: Sequence[Source],
    profiles: Sequence[str],
    *,
    owner_id: str | None,
    on_uploaded: Callable[[list[Item]], None],
    analyses: Sequence[str] = (),
) -> list[Submitted]:
    """Upload every input; a refused one is reported (one item per profile and per
    analysis), not raised."""
    request = images.Upload(profiles=list(profiles), analyses=list(analyses), owner_id=owner_id)
    submitted = []
    for source in sources:
        path = str(source.path)
        try:
            accepted = images.upload(ctx, read_input(source.path, ctx.limits), request)
        except (DarkroomError, OSError) as exc:
            on_uploaded(
                [failed(path, name, exc) for name in profiles]
                + [failed(path, None, exc, analysis=name) for name in analyses]
            )
            continue
        submitted.append(Submitted(path, accepted.image.id))
        on_uploaded([])
    return submitted


def follow(
    ctx: Context,
    submitted: Sequence[Submitted],
    *,
    timeout: float,
    poll_interval: float,
    on_done: Callable[[list[Item]], None],
) -> None:
    """Poll every image until each variant and analysis is done or failed, or `timeout`
    seconds pass.

    Work still unfinished at the deadline is reported failed with its status: the cluster
    keeps working on it, the batch just stops waiting.
    """
    waiting = {entry.image_id: entry for entry in submitted}
    last_seen: dict[str, ImageRecord] = {}
    reported: set[tuple[str, str]] = set()
    """(image id, work key) of what was reported: `_key` of a variant or an analysis."""
    deadline = time.monotonic() + timeout
    while waiting:
        for image_id, entry in list(waiting.items()):
            try:
                image = images.get(ctx, image_id)
            except TransientError:
                continue  # a database hiccup: ask again on the next round
            except DarkroomError as exc:  # deleted meanwhile
                on_done([failed(entry.path, None, exc, image_id=image_id)])
                del waiting[image_id]
                continue
            last_seen[image_id] = image
            work = _work(image)
            finished = [w for w in work if w.status in FINISHED]
            fresh = [w for w in finished if (image_id, _key(w)) not in reported]
            reported.update((image_id, _key(w)) for w in fresh)
            if fresh:
                on_done([_item(entry, w) for w in fresh])
            if len(finished) == len(work):
                del waiting[image_id]
        if waiting and time.monotonic() >= deadline:
            on_done(_timed_out(waiting, last_seen, reported, timeout))
            return
        if waiting:
            time.sleep(poll_interval)


Work = VariantRecord | AnalysisRecord


def _work(image: ImageRecord) -> list[Work]:
    return [*image.variants, *image.analyses]


def _key(work: Work) -> str:
    # Profile and analysis names may coincide: the kind keeps them apart.
    if isinstance(work, AnalysisRecord):
        return f"analysis:{work.analysis}"
    return f"variant:{work.profile}"


def _item(entry: Submitted, work: Work) -> Item:
    if isinstance(work, AnalysisRecord):
        return _analysis_item(entry, work)
    return _variant_item(entry, work)


def _analysis_item(entry: Submitted, analysis: AnalysisRecord) -> Item:
    image_id = analysis.image_id
    if analysis.status is Status.FAILED:
        reason = analysis.error_msg or "failed without a message"
        return Item(
            entry.path,
            None,
            State.FAILED,
            reason,
            "analysis_failed",
            image_id=image_id,
            analysis=analysis.analysis,
        )
    return Item(entry.path, None, State.DONE, image_id=image_id, analysis=analysis.analysis)


def _variant_item(entry: Submitted, variant: VariantRecord) -> Item:
    image_id = variant.image_id
    if variant.status is Status.FAILED:
        reason = variant.error_msg or "failed without a message"
        return Item(
            entry.path, variant.profile, State.FAILED, reason, "variant_failed", image_id=image_id
        )
    return Item(
        entry.path,
        variant.profile,
        State.DONE,
        output=variant.output_key,
        width=variant.width,
        height=variant.height,
        format=variant.format,
        image_id=image_id,
    )


def _timed_out(
    waiting: dict[str, Submitted],
    last_seen: dict[str, ImageRecord],
    reported: set[tuple[str, str]],
    timeout: float,
) -> list[Item]:
    items = []
    for image_id, entry in waiting.items():
        image = last_seen.get(image_id)
        for work in [] if image is None else _work(image):
            if (image_id, _key(work)) not in reported:
                reason = f"still {work.status.value} after {timeout:g} s (image {image_id})"
                profile, analysis = (
                    (None, work.analysis)
                    if isinstance(work, AnalysisRecord)
                    else (work.profile, None)
                )
                items.append(
                    Item(
                        entry.path,
                        profile,
                        State.FAILED,
                        reason,
                        "timeout",
                        image_id=image_id,
                        analysis=analysis,
                    )
                )
        if image is None:
            reason = f"not readable within {timeout:g} s (image {image_id})"
            items.append(Item(entry.path, None, State.FAILED, reason, "timeout", image_id=image_id))
    return items
