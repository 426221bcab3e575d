"""Job TTLs: work whose message waited in the queue past DARKROOM_JOB_TTL_SECONDS is failed
with a clear reason, dead-lettered and counted, instead of being done late; a retry
waiting out its backoff is not late, and a replay runs the work after all."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dramatiq
import pytest

from darkroom.analysis import registry
from darkroom.queue.broker import ANALYSIS_QUEUES, DISPATCH, TRANSFORM, make_broker
from darkroom.queue.waiting import waited_seconds
from darkroom.runtime.wiring import Wired, wire
from darkroom.service import dead_letters, images
from darkroom.service.images import Upload
from darkroom.settings import load_settings
from tests.corpus import read
from tests.integration.conftest import FAST_RETRIES

pytestmark = pytest.mark.slow  # waits out a TTL, and runs queue workers

TTL = 1.0


@contextmanager
def consuming(wired: Wired, *queues: str) -> Iterator[None]:
    """A worker on `queues` of the in-process broker, for the block."""
    names = {wired.queue.queue_names[q] for q in queues}
    worker = dramatiq.Worker(wired.broker, queues=names, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        yield
    finally:
        worker.stop(timeout=10_000)


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_work_waiting_past_its_ttl_is_failed_dead_lettered_and_counted(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        storage_url=f"file://{tmp_path / 'objects'}",
        job_ttl_seconds=TTL,
    )
    wired = wire(settings, retry=FAST_RETRIES)
    ctx = wired.ctx
    wanted = ["colors"] if "colors" in registry.installed() else []
    try:
        # A backlog: the image is dispatched, but nothing consumes its work for too long.
        with consuming(wired, DISPATCH):
            late = images.upload(
                ctx, read("jpeg-progressive.jpg"), Upload(["thumb_200", "avatar"], wanted)
            )
            wait_for(lambda: wired.queue.depth()[TRANSFORM] >= 1)
        time.sleep(TTL + 0.5)
        work = [TRANSFORM, *(ANALYSIS_QUEUES[name] for name in wanted)]
        with consuming(wired, DISPATCH, *work):
            wait_for(lambda: images.get(ctx, late.image.id).status.value == "failed")
            # Work that did not wait is done as usual by the same workers.
            fresh = images.upload(ctx, read("png-rgba-transparency.png"), Upload(["avatar"], []))
            wait_for(lambda: images.get(ctx, fresh.image.id).status.value == "done")
            image = images.get(ctx, late.image.id)
            assert {v.status.value for v in image.variants} == {"failed"}
            for variant in image.variants:
                assert variant.error_msg is not None
                assert "DARKROOM_JOB_TTL_SECONDS=1" in variant.error_msg, variant.error_msg
                assert variant.output_key is None
            assert [a.status.value for a in image.analyses] == ["failed"] * len(wanted)
            letters = dead_letters.list_page(ctx, include_replayed=False, limit=50, cursor=None)
            assert {d.error_code for d in letters.items} == {"job_expired"}
            assert len(letters.items) == 2 + len(wanted)
            counted = {
                kind: ctx.registry.get_sample_value("darkroom_jobs_expired_total", {"kind": kind})
                for kind in ("transform", "analysis")
            }
            assert counted == {"transform": 2.0, "analysis": float(len(wanted)) or None}
            # A replay is a fresh message: the work is done after all.
            for letter in letters.items:
                dead_letters.replay(ctx, letter.id)
            wait_for(lambda: images.get(ctx, late.image.id).status.value == "done")
    finally:
        wired.close()


def test_a_message_waits_from_when_it_is_due_not_from_when_it_was_sent() -> None:
    broker = make_broker("memory://")
    seen: dict[str, float | None] = {}

    def record(name: str) -> None:
        seen[name] = waited_seconds()

    actor = dramatiq.actor(broker=broker, actor_name="record", queue_name="waits")(record)
    actor.send_with_options(args=("delayed",), delay=1200)  # a retry's backoff: not late
    actor.send("queued")
    time.sleep(1.2)  # a backlog: nothing consumes for a while
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        wait_for(lambda: len(seen) == 2)
    finally:
        worker.stop()
        broker.close()
    assert seen["queued"] is not None
    assert seen["queued"] >= 1.2
    assert seen["delayed"] is not None
    assert seen["delayed"] < 1.0  # counted from its send it would be over 1.2, like the other
    assert waited_seconds() is None  # outside a message
