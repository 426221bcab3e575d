"""Queue depth, the autoscaling signal, as each real broker counts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkroom.queue.broker import ANALYSIS_QUEUES
from darkroom.runtime.wiring import wire
from darkroom.service.context import queue_depth
from darkroom.settings import load_settings
from tests.cluster.conftest import Broker

pytestmark = pytest.mark.slow  # real brokers


def test_depth_counts_waiting_and_delayed_messages(tmp_path: Path, broker: Broker) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        storage_url=f"file://{tmp_path / 'objects'}",
        broker_url=broker.url,
        queue_prefix=broker.prefix,
    )
    wired = wire(settings)
    try:
        idle = {"dispatch": 0, "transform": 0} | dict.fromkeys(ANALYSIS_QUEUES.values(), 0)
        assert queue_depth(wired.ctx) == idle
        for n in range(3):
            wired.queue.transform(f"variant-{n}")
        wired.queue.transform("retry-later", delay=600)
        wired.queue.dispatch("image-1")
        wired.queue.analyze("ocr", "analysis-1")
        wired.queue.analyze("faces", "analysis-2", delay=600)
        busy = {"dispatch": 1, "transform": 4, "analyze.ocr": 1, "analyze.faces": 1}
        assert queue_depth(wired.ctx) == idle | busy
    finally:
        wired.close()
