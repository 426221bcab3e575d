"""Prometheus metrics: the backlog read from the database, and per-process work counters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import transaction
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
        for status, count in counts.items():
            family.add_metric([status.value], count)
        yield family


class WorkMetrics:
    """Counters of what this process did; exposed by whichever process serves /metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.transforms = Counter(
            "darkroom_transforms", "Transform attempts by outcome.", ["outcome"], registry=registry
        )
        self.transform_seconds = Histogram(
            "darkroom_transform_seconds",
            "Wall time of one transform attempt.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.uploads = Counter("darkroom_uploads", "Images accepted by the API.", registry=registry)

    @contextmanager
    def timing(self) -> Iterator[None]:
        """Observe the duration of the block as one transform."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.transform_seconds.observe(time.perf_counter() - start)


def build_registry(sessions: sessionmaker[Session]) -> tuple[CollectorRegistry, WorkMetrics]:
    """A registry with the backlog collector and this process's work metrics."""
    registry = CollectorRegistry()
    registry.register(BacklogCollector(sessions))
    return registry, WorkMetrics(registry)


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition of every metric in `registry`."""
    return generate_latest(registry)
