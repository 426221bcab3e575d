"""A scrape after a known workload shows exact values: transforms, backlog, dead letters,
queue depth and outbox deliveries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.corpus import read
from tests.integration.conftest import Service, start_service
from tests.receiver import receiving


def scrape(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    answer = service.http.get("/metrics")
    assert answer.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[Service]:
    yield from start_service(
        tmp_path, webhook_allow_hosts="127.0.0.1", outbox_interval_seconds=0.05
    )()


def deliveries(metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    """Outbox deliveries counted so far, whatever their kind and outcome."""
    return sum(v for (name, _), v in metrics.items() if name == "darkroom_deliveries_total")


def test_a_known_workload_gives_exact_counts(hooked: Service) -> None:
    with receiving(answers=[503]) as receiver:
        ids = [
            hooked.upload(
                read(name), profiles="thumb_200,avatar", callback_url=receiver.url
            ).json()["id"]
            for name in ("jpeg-progressive.jpg", "webp-lossy.webp")
        ]
        for image_id in ids:
            hooked.wait(image_id)
        receiver.wait_for(3)  # one failed attempt, retried, plus the other image's
        # A variant whose original vanished fails for good: one dead letter.
        hooked.runtime.ctx.originals.delete(hooked.objects("originals/")[0])
        for image_id in ids:
            hooked.http.post(f"/v1/images/{image_id}/variants", json={"profiles": ["webp_800"]})
        for image_id in ids:
            hooked.wait(image_id)
        receiver.wait_for(5)
        # The sender counts a delivery once the receiver has answered: a moment later.
        metrics = scrape(hooked)
        deadline = time.monotonic() + 10
        while deliveries(metrics) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
            metrics = scrape(hooked)
    assert metrics[("darkroom_uploads_total", ())] == 2
    assert metrics[("darkroom_transforms_total", (("outcome", "done"),))] == 5
    assert metrics[("darkroom_transforms_total", (("outcome", "failed"),))] == 1
    assert metrics[("darkroom_transform_seconds_count", ())] == 6
    assert metrics[("darkroom_transforms_in_flight", ())] == 0
    assert metrics[("darkroom_variants", (("status", "done"),))] == 5
    assert metrics[("darkroom_variants", (("status", "failed"),))] == 1
    assert metrics[("darkroom_variants", (("status", "pending"),))] == 0
    assert metrics[("darkroom_dead_letters", ())] == 1
    assert metrics[("darkroom_queue_depth", (("queue", "transform"),))] == 0
    delivered = ("darkroom_deliveries_total", (("kind", "image.done"), ("outcome", "delivered")))
    failed = ("darkroom_deliveries_total", (("kind", "image.done"), ("outcome", "failed")))
    announced_failure = (
        "darkroom_deliveries_total",
        (("kind", "image.failed"), ("outcome", "delivered")),
    )
    # Each image is announced done, the first attempt answered 503 and retried; adding a
    # profile re-opens both: one finishes done again, the other failed.
    assert (metrics[delivered], metrics[failed], metrics[announced_failure]) == (3, 1, 1)
