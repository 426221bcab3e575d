"""Prometheus metrics: backlog, dead letters and queue depth read at scrape time, and
per-process counters of transforms, renders, HTTP requests and outbox deliveries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import transaction
from darkroom.db.repo import dead_letters as dead_letter_rows
from darkroom.db.repo import variants as variant_rows

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class BacklogCollector(Collector):
    """Variants by status, counted in the database at scrape time.

    `darkroom_variants{status="pending"}` is the queue depth to autoscale workers on: it is
    the same whichever broker carries the messages, and it includes work whose message was
    lost and awaits the reconciler.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the variant counts by status."""
        family = GaugeMetricFamily(
            "darkroom_variants", "Image variants by status.", labels=["status"]
        )
        with transaction(self._sessions) as session:
            counts = variant_rows.count_by_status(session)
            dead = dead_letter_rows.count_unreplayed(session)
        for status, count in counts.items():
            family.add_metric([status.value], count)
        yield family
        yield GaugeMetricFamily(
            "darkroom_dead_letters", "Dead letters waiting for a replay.", value=dead
        )


class QueueDepthCollector(Collector):
    """Messages waiting per queue (delayed retries included): the autoscaling signal.

    In cluster mode the broker is asked; the in-process broker of `darkroom serve` forgets
    its messages on a crash, so there the database's pending variants stand for the
    transform queue.
    """

    def __init__(self, depth: Callable[[], dict[str, int]]) -> None:
        self._depth = depth

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the depth of each queue."""
        family = GaugeMetricFamily(
            "darkroom_queue_depth", "Messages waiting per queue.", labels=["queue"]
        )
        for queue, depth in sorted(self._depth().items()):
            family.add_metric([queue], depth)
        yield family


class WorkMetrics:
    """Counters of what this process did; exposed by whichever process serves /metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.transforms = Counter(
            "darkroom_transforms", "Transform attempts by outcome.", ["outcome"], registry=registry
        )
        self.transform_seconds = Histogram(
            "darkroom_transform_seconds",
            "Wall time of one transform attempt, from its claim to its result (variants "
            "claimed together count from the same start).",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.analyses = Counter(
            "darkroom_analyses",
            "Analysis attempts by analysis and outcome.",
            ["analysis", "outcome"],
            registry=registry,
        )
        self.analysis_seconds = Histogram(
            "darkroom_analysis_seconds",
            "Wall time of one analysis attempt, by analysis.",
            ["analysis"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.uploads = Counter("darkroom_uploads", "Images accepted by the API.", registry=registry)
        self.jobs_expired = Counter(
            "darkroom_jobs_expired",
            "Variants and analyses failed because their message waited in the queue past "
            "DARKROOM_JOB_TTL_SECONDS, by kind (transform, analysis).",
            ["kind"],
            registry=registry,
        )
        self.handoffs = Counter(
            "darkroom_upload_handoffs",
            "Uploads whose verification decode was handed to this process's workers: "
            "used by a worker, or not kept for lack of room (DARKROOM_UPLOAD_HANDOFF_BYTES).",
            ["outcome"],
            registry=registry,
        )
        self.transforms_in_flight = Gauge(
            "darkroom_transforms_in_flight", "Transforms running now.", registry=registry
        )
        self.deliveries = Counter(
            "darkroom_deliveries",
            "Outbox delivery attempts (webhooks, CDN purges) by kind and outcome.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.renders = Counter(
            "darkroom_renders",
            "On-demand render requests by outcome: hit, miss, not_modified, overloaded, error.",
            ["outcome"],
            registry=registry,
        )
        self.render_seconds = Histogram(
            "darkroom_render_seconds",
            "Wall time of one on-demand render request.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.http_requests = Counter(
            "darkroom_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.http_seconds = Histogram(
            "darkroom_http_request_seconds",
            "Wall time of one HTTP request, by route template.",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )

    @contextmanager
    def in_flight(self, count: int) -> Iterator[None]:
        """Count `count` transforms in flight during the block."""
        self.transforms_in_flight.inc(count)
        try:
            yield
        finally:
            self.transforms_in_flight.dec(count)


def build_registry(sessions: sessionmaker[Session]) -> tuple[CollectorRegistry, WorkMetrics]:
    """A registry with the backlog collector and this process's work metrics."""
    registry = CollectorRegistry()
    registry.register(BacklogCollector(sessions))
    return registry, WorkMetrics(registry)


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of every metric in `registry`."""
    return generate_latest(registry)
